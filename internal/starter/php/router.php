<?php

// For PHP's built-in server (php -S 127.0.0.1:PORT router.php): every
// request goes to the front controller, none to a file.

require __DIR__ . '/public/index.php';
