<?php // generated interceptor
