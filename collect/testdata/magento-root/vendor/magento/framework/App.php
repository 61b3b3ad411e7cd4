<?php // framework
