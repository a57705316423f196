<?php

// The front controller: every request comes here (public/ is the document
// root under PHP-FPM or Apache; router.php sends everything here under
// PHP's built-in server).

declare(strict_types=1);

require dirname(__DIR__) . '/src/App.php';

Espf\App::main();
