require(['jquery'], function () {});
