<?php
return ['modules' => ['Magento_Store' => 1, 'Vendor_Checkout' => 1]];
