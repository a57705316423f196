<?php

declare(strict_types=1);

namespace Espf;

use PDO;

require_once __DIR__ . '/Auth.php';
require_once dirname(__DIR__) . '/provision.php';

/**
 * An ESPF Application: PortaBilling's provisioning events at /espf.
 *
 * It answers exactly 200 only after the event, its i_event and your work
 * (provision.php) are committed in one transaction; a repeat of an i_event
 * already committed is answered 200 without calling provision again; an
 * entity's events are applied only forward in i_event order (a Deleted
 * leaves a tombstone). GET /state/{group}/{id} shows an entity's state for
 * espfctl's --state-url. public/index.php serves it under PHP-FPM or Apache;
 * `./start PORT` under PHP's built-in server.
 */
final class App
{
    /** The most a delivery may carry; bigger is answered 413. */
    public const MAX_BODY = 1 << 20;

    /** The entity an event is about: its group, and the variable naming it. */
    private const GROUPS = [
        'Subscriber' => ['subscriber', 'i_account'],
        'Account' => ['subscriber', 'i_account'],
        'Customer' => ['customer', 'i_customer'],
        'Invoice' => ['invoice', 'i_invoice'],
        'DID' => ['did', 'number'],
    ];

    private const SCHEMA = <<<'SQL'
        CREATE TABLE IF NOT EXISTS events (
            i_event     INTEGER PRIMARY KEY,
            event_type  TEXT NOT NULL,
            body        TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS entities (
            grp     TEXT NOT NULL,
            id      TEXT NOT NULL,
            present INTEGER NOT NULL,
            i_event INTEGER NOT NULL,
            applied INTEGER NOT NULL,
            PRIMARY KEY (grp, id)
        );
        SQL;

    private PDO $db;
    /** @var callable(array, PDO): void */
    private $provision;
    private string $headerKey;

    /**
     * @param array<string, mixed> $config config.json
     * @param callable(array, PDO): void|null $provision the work; provision() of provision.php when null
     */
    public function __construct(private array $config, string $dbPath, ?callable $provision = null)
    {
        $this->provision = $provision ?? '\provision';
        $header = (string) ($config['header'] ?? 'Authorization');
        $this->headerKey = 'HTTP_' . strtoupper(str_replace('-', '_', $header));
        $dir = dirname($dbPath);
        if (!is_dir($dir) && !@mkdir($dir, 0o755, true) && !is_dir($dir)) {
            throw new \RuntimeException("cannot create the database's directory $dir");
        }
        $this->db = new PDO('sqlite:' . $dbPath, null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        $this->db->exec('PRAGMA busy_timeout = 60000'); // another worker's transaction: wait for it
        $this->db->exec('PRAGMA journal_mode = WAL');
        $this->db->exec('PRAGMA synchronous = FULL');
        $this->db->exec(self::SCHEMA . (\defined('PROVISION_SCHEMA') ? \PROVISION_SCHEMA : ''));
    }

    /** @return array<string, mixed> config.json, or the file ESPF_CONFIG names */
    public static function loadConfig(): array
    {
        $path = $_SERVER['ESPF_CONFIG'] ?? getenv('ESPF_CONFIG');
        if (!is_string($path) || $path === '') {
            $path = dirname(__DIR__) . '/config.json';
        }
        $text = @file_get_contents($path);
        if ($text === false) {
            throw new \RuntimeException("cannot read the configuration $path");
        }
        return json_decode($text, true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * Serves the current request (the front controller's one call): the
     * database is data/espf.db.
     */
    public static function main(): void
    {
        set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
            if ((error_reporting() & $severity) === 0) {
                return false; // silenced with @
            }
            throw new \ErrorException($message, 0, $severity, $file, $line); // a warning in the work fails it
        }, E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED);
        $server = $_SERVER;
        if (!isset($server['HTTP_AUTHORIZATION'])) { // Apache hides it from PHP-FPM unless told (see README)
            $server['HTTP_AUTHORIZATION'] = $server['REDIRECT_HTTP_AUTHORIZATION'] ?? self::fromAllHeaders('Authorization');
        }
        try {
            $app = new self(self::loadConfig(), dirname(__DIR__) . '/data/espf.db');
            [$status, $body] = $app->handle($server, static fn (int $n): string => (string) file_get_contents('php://input', false, null, 0, $n));
        } catch (\Throwable $e) {
            self::log('-', '-', '-', 500, get_class($e) . ': ' . $e->getMessage());
            [$status, $body] = self::answer(500, 'the request could not be processed (see the log); an event is re-sent');
        }
        header_remove('X-Powered-By');
        http_response_code($status);
        header('Content-Type: application/json');
        header('Content-Length: ' . strlen($body));
        echo $body;
    }

    private static function fromAllHeaders(string $name): ?string
    {
        if (!function_exists('getallheaders')) {
            return null;
        }
        foreach (getallheaders() as $k => $v) {
            if (strcasecmp($k, $name) === 0) {
                return $v;
            }
        }
        return null;
    }

    /**
     * One request: $server as $_SERVER (REQUEST_METHOD, REQUEST_URI,
     * CONTENT_LENGTH, HTTP_*), $read($n) the body's first $n bytes.
     *
     * @return array{int, string} the status and the body
     */
    public function handle(array $server, callable $read): array
    {
        $method = (string) ($server['REQUEST_METHOD'] ?? '');
        $path = rawurldecode(explode('?', (string) ($server['REQUEST_URI'] ?? ''), 2)[0]);
        $why = Auth::verify((string) ($server[$this->headerKey] ?? ''), (string) ($server['HTTP_DATE'] ?? ''), $this->config);
        if (str_starts_with($path, '/state/') && $method === 'GET') {
            if ($why !== null) {
                return self::answer(401, 'unauthorized');
            }
            [$group, $id] = array_pad(explode('/', substr($path, strlen('/state/')), 2), 2, '');
            $state = $this->state($group, $id);
            if ($state === null) {
                return [404, "{\"exists\": false}\n"];
            }
            return [200, json_encode($state) . "\n"];
        }
        if ($path !== '/espf') {
            return self::answer(404, 'not found: events go to /espf');
        }
        if ($method !== 'POST') {
            return self::answer(405, 'POST events to /espf');
        }
        if ($why !== null) {
            self::log('-', '-', '-', 401, $why);
            return self::answer(401, 'unauthorized');
        }
        $length = (string) ($server['CONTENT_LENGTH'] ?? '');
        if (preg_match('/^[0-9]+$/', $length) !== 1) {
            return self::answer(411, 'a Content-Length is required');
        }
        if (strlen(ltrim($length, '0')) > 9 || (int) $length > self::MAX_BODY) {
            self::log('-', '-', '-', 413, "body of $length bytes");
            return self::answer(413, sprintf('the body is over %d bytes', self::MAX_BODY));
        }
        $body = (int) $length > 0 ? $read((int) $length) : '';
        try {
            [$event, $iEvent] = self::parse($body);
        } catch (BadEvent $e) {
            self::log('-', '-', '-', 400, $e->getMessage());
            return self::answer(400, $e->getMessage());
        }
        try {
            $outcome = $this->deliver($event, $iEvent, $body);
        } catch (\Throwable $e) { // the work failed: 500, and the ESPF re-sends the event
            self::log($iEvent, $event['event_type'], '-', 500, get_class($e) . ': ' . $e->getMessage());
            return self::answer(500, 'the event could not be processed; it will be re-sent');
        }
        self::log($iEvent, $event['event_type'], self::entityOf($event), 200, $outcome);
        return [200, "{\"ok\": true}\n"];
    }

    /**
     * [group, id variable, action] of an event type; action is created,
     * updated, deleted or null (not a lifecycle step); group null when the
     * type is about no entity.
     *
     * @return array{?string, ?string, ?string}
     */
    public static function classify(string $eventType): array
    {
        [$head, $rest] = array_pad(explode('/', $eventType, 2), 2, '');
        if (!isset(self::GROUPS[$head])) {
            return [null, null, null];
        }
        [$group, $var] = self::GROUPS[$head];
        if ($rest === 'Created' || $rest === 'New') {
            $action = 'created';
        } elseif ($rest === 'Updated') {
            $action = 'updated';
        } elseif ($rest === 'Deleted') {
            $action = 'deleted';
        } elseif (str_contains($rest, '/') && $rest !== 'Status/Closed') {
            $action = 'updated'; // Account/AccessPolicy/Changed and the like
        } else {
            $action = null;
        }
        return [$group, $var, $action];
    }

    private static function entityId(mixed $value): ?string
    {
        if (is_int($value)) {
            return (string) $value;
        }
        if (is_string($value) && $value !== '') {
            return $value;
        }
        return null;
    }

    /**
     * The event, or BadEvent: a JSON object with a string event_type and a
     * variables object holding an integer i_event (digits in a string too).
     *
     * @return array{array<string, mixed>, int}
     */
    private static function parse(string $body): array
    {
        try {
            $shape = json_decode($body, false, 512, JSON_THROW_ON_ERROR); // objects kept apart from lists
        } catch (\JsonException) {
            throw new BadEvent('body is not JSON');
        }
        if (!$shape instanceof \stdClass || !is_string($shape->event_type ?? null) || $shape->event_type === '') {
            throw new BadEvent('no event_type');
        }
        if (!($shape->variables ?? null) instanceof \stdClass) {
            throw new BadEvent('variables is not an object');
        }
        $iEvent = $shape->variables->i_event ?? null;
        if (is_string($iEvent) && preg_match('/^[0-9]+$/', $iEvent) === 1) {
            $iEvent = filter_var(ltrim($iEvent, '0') ?: '0', FILTER_VALIDATE_INT); // not an int when too big
        }
        if (!is_int($iEvent)) {
            throw new BadEvent('no integer i_event');
        }
        return [json_decode($body, true, 512, JSON_THROW_ON_ERROR), $iEvent];
    }

    /**
     * Commits the event with its work; returns 'repeat', 'applied', 'stale'
     * (older than the entity's state: recorded, not applied) or 'recorded'
     * (about no entity).
     */
    private function deliver(array $event, int $iEvent, string $body): string
    {
        $db = $this->db;
        $db->exec('BEGIN IMMEDIATE');
        try {
            $seen = $db->prepare('SELECT 1 FROM events WHERE i_event = ?');
            $seen->execute([$iEvent]);
            if ($seen->fetchColumn() !== false) {
                $db->exec('COMMIT');
                return 'repeat';
            }
            $outcome = 'recorded';
            [$group, $var, $action] = self::classify($event['event_type']);
            $id = $group !== null ? self::entityId($event['variables'][$var] ?? null) : null;
            if ($action !== null && $id !== null) {
                $row = $db->prepare('SELECT i_event FROM entities WHERE grp = ? AND id = ?');
                $row->execute([$group, $id]);
                $at = $row->fetchColumn();
                if ($at === false || $iEvent > (int) $at) {
                    $db->prepare('INSERT INTO entities(grp, id, present, i_event, applied) VALUES(?, ?, ?, ?, 1) '
                        . 'ON CONFLICT(grp, id) DO UPDATE SET present = excluded.present, i_event = excluded.i_event, '
                        . 'applied = applied + 1')
                        ->execute([$group, $id, $action === 'deleted' ? 0 : 1, $iEvent]);
                    $outcome = 'applied';
                } else {
                    $outcome = 'stale';
                }
            }
            if ($outcome !== 'stale') {
                ($this->provision)($event, $db);
            }
            $db->prepare('INSERT INTO events(i_event, event_type, body, received_at) VALUES(?, ?, ?, ?)')
                ->execute([$iEvent, $event['event_type'], $body, self::now()]);
            $db->exec('COMMIT');
            return $outcome;
        } catch (\Throwable $e) {
            try {
                $db->exec('ROLLBACK');
            } catch (\PDOException) {
                // SQLite rolled back already (a full disk, say): nothing is committed either way
            }
            throw $e;
        }
    }

    /** @return array{exists: bool, i_event: int, applied: int}|null */
    public function state(string $group, string $id): ?array
    {
        $q = $this->db->prepare('SELECT present, i_event, applied FROM entities WHERE grp = ? AND id = ?');
        $q->execute([$group, $id]);
        $row = $q->fetch(PDO::FETCH_NUM);
        if ($row === false) {
            return null;
        }
        return ['exists' => (bool) $row[0], 'i_event' => (int) $row[1], 'applied' => (int) $row[2]];
    }

    private static function entityOf(array $event): string
    {
        [$group, $var] = self::classify($event['event_type']);
        $id = $group !== null ? self::entityId($event['variables'][$var] ?? null) : null;
        return $id !== null ? "$group/$id" : '-';
    }

    private static function now(): string
    {
        return gmdate('Y-m-d\TH:i:s\Z');
    }

    /** One line to stderr: time, i_event, type, entity, status, what happened (never a secret). */
    public static function log(int|string ...$fields): void
    {
        $line = implode("\t", [self::now(), ...array_map(static fn ($f) => str_replace(["\n", "\r", "\t"], ' ', (string) $f), $fields)]);
        if (PHP_SAPI === 'cli' || PHP_SAPI === 'cli-server') {
            file_put_contents('php://stderr', $line . "\n");
        } else {
            error_log($line); // PHP-FPM, Apache: the server's error log
        }
    }

    /** @return array{int, string} */
    private static function answer(int $code, string $message): array
    {
        return [$code, json_encode(['error' => $message]) . "\n"];
    }
}

/** A body that is not an ESPF event: answered 400. */
final class BadEvent extends \Exception
{
}
