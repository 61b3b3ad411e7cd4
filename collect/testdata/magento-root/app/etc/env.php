<?php
return [
    'backend' => ['frontName' => 'admin_k3x9'],
    'crypt' => ['key' => 'fixture-key-not-real'],
    'db' => [
        'table_prefix' => 'm2_',
        'connection' => [
            'default' => [
                'host' => 'localhost:/var/run/mysqld/mysqld.sock',
                'dbname' => 'magento',
                'username' => 'magento',
                'password' => 'fixture-password',
                'active' => '1'
            ]
        ]
    ],
    'MAGE_MODE' => 'production'
];
