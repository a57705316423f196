<?php

declare(strict_types=1);

use Espf\App;
use PHPUnit\Framework\TestCase;

/**
 * The Application end to end, through App::handle: what it answers and
 * what it commits.
 */
final class AppTest extends TestCase
{
    private const CONFIG = ['scheme' => 'basic', 'header' => 'Authorization', 'users' => ['pb'], 'passwords' => ['s3cret']];
    private const GOOD = 'Basic cGI6czNjcmV0'; // pb:s3cret

    private string $dir;
    private string $db;
    private App $app;
    /** @var list<mixed> the i_event of each call of provision */
    private array $calls = [];

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/espf-test-' . bin2hex(random_bytes(6));
        $this->db = $this->dir . '/espf.db';
        $this->app = $this->newApp(function (array $event, PDO $db): void {
            $this->calls[] = $event['variables']['i_event'];
        });
    }

    protected function tearDown(): void
    {
        unset($this->app);
        foreach (glob($this->dir . '/*') ?: [] as $f) {
            unlink($f);
        }
        @rmdir($this->dir);
    }

    private function newApp(callable $provision): App
    {
        return new App(self::CONFIG, $this->db, $provision);
    }

    /** @param array<string, mixed>|string $body */
    private function post(array|string $body, string $auth = self::GOOD, ?int $length = null, ?App $app = null): int
    {
        if (is_array($body)) {
            $body = json_encode($body);
        }
        $server = ['REQUEST_METHOD' => 'POST', 'REQUEST_URI' => '/espf', 'CONTENT_LENGTH' => (string) ($length ?? strlen($body)),
            'HTTP_AUTHORIZATION' => $auth];
        [$status] = ($app ?? $this->app)->handle($server, static fn (int $n): string => substr($body, 0, $n));
        return $status;
    }

    /** @return array{int, mixed} */
    private function state(string $path): array
    {
        $server = ['REQUEST_METHOD' => 'GET', 'REQUEST_URI' => '/state/' . $path, 'HTTP_AUTHORIZATION' => self::GOOD];
        [$status, $body] = $this->app->handle($server, static fn (int $n): string => '');
        return [$status, json_decode($body, true)];
    }

    private static function ev(string $type, mixed $iEvent, array $vars = []): array
    {
        return ['event_type' => $type, 'variables' => $vars + ['i_event' => $iEvent]];
    }

    public function testOncePerEvent(): void
    {
        $e = self::ev('Subscriber/Created', 10, ['i_account' => 5]);
        $this->assertSame(200, $this->post($e));
        $this->assertSame(200, $this->post($e)); // a re-send after a lost 200
        $this->assertSame([10], $this->calls);
        $this->assertSame([200, ['exists' => true, 'i_event' => 10, 'applied' => 1]], $this->state('subscriber/5'));
    }

    public function testRemembersAcrossRestarts(): void
    {
        $e = self::ev('Invoice/Created', 11, ['i_invoice' => 6]);
        $this->assertSame(200, $this->post($e));
        $this->app = $this->newApp(function (array $event, PDO $db): void { // the server restarted
            $this->calls[] = $event['variables']['i_event'];
        });
        $this->assertSame(200, $this->post($e));
        $this->assertSame([11], $this->calls, 'the re-send after a restart did the work again');
        $this->assertSame([200, ['exists' => true, 'i_event' => 11, 'applied' => 1]], $this->state('invoice/6'));
    }

    public function testRefusals(): void
    {
        $this->assertSame(401, $this->post(self::ev('Subscriber/Created', 1, ['i_account' => 1]), 'Basic cGI6UzNDUkVU'));
        $this->assertSame(400, $this->post('{"event_type":"Subscriber/Created","variables":{"i_event":'));
        $this->assertSame(400, $this->post(['variables' => ['i_event' => 2]]));
        $this->assertSame(400, $this->post(['event_type' => 'Subscriber/Created', 'variables' => 'x']));
        $this->assertSame(400, $this->post('{"event_type":"Subscriber/Created","variables":[2]}')); // a list, not an object
        $this->assertSame(400, $this->post(self::ev('Subscriber/Created', 'x3')));
        $this->assertSame(413, $this->post('{}', self::GOOD, (1 << 20) + 1));
        $this->assertSame([], $this->calls);
        [$status] = $this->app->handle(['REQUEST_METHOD' => 'GET', 'REQUEST_URI' => '/state/subscriber/1'], static fn (int $n): string => '');
        $this->assertSame(401, $status, 'the state without credentials');
    }

    public function testNever5xxForWhatItDoesNotKnow(): void
    {
        $this->assertSame(200, $this->post(self::ev('Espfctl/Unknown', 20, ['i_account' => 1])));
        $this->assertSame(200, $this->post(self::ev('Account/AccessPolicy/Changed', 21, ['i_account' => 1, 'extra' => ['x' => 1]])));
        $this->assertSame(200, $this->post(self::ev('Subscriber/Created', '22', ['i_account' => '7']))); // ids as strings
        $this->assertSame(200, $this->post(self::ev('Invoice/Created', '0023', ['i_invoice' => 1]))); // leading zeros
        $this->assertSame(200, $this->post(self::ev('Invoice/Created', 23, ['i_invoice' => 1]))); // the same i_event: a repeat
        $this->assertSame([20, 21, '22', '0023'], $this->calls); // the event as sent
    }

    public function testForwardOnly(): void
    {
        $this->assertSame(200, $this->post(self::ev('Subscriber/Updated', 31, ['i_account' => 9]))); // overtook its Created
        $this->assertSame(200, $this->post(self::ev('Subscriber/Created', 30, ['i_account' => 9]))); // late: recorded, not applied
        $this->assertSame([200, ['exists' => true, 'i_event' => 31, 'applied' => 1]], $this->state('subscriber/9'));
        $this->assertSame(200, $this->post(self::ev('Subscriber/Deleted', 33, ['i_account' => 9])));
        $this->assertSame(200, $this->post(self::ev('Subscriber/Updated', 32, ['i_account' => 9]))); // re-sent after the Deleted
        $this->assertSame([200, ['exists' => false, 'i_event' => 33, 'applied' => 2]], $this->state('subscriber/9'));
        $this->assertSame([31, 33], $this->calls);
        $this->assertSame(404, $this->state('subscriber/404')[0]);
    }

    public function testFailedWorkCommitsNothing(): void
    {
        $failing = $this->newApp(static function (array $event, PDO $db): void {
            $db->exec("INSERT INTO events(i_event, event_type, body, received_at) VALUES(999, 'x', '{}', 'now')");
            throw new RuntimeException('the billing system is down');
        });
        $this->assertSame(500, $this->post(self::ev('Customer/Created', 40, ['i_customer' => 3]), self::GOOD, null, $failing));
        $this->assertSame(404, $this->state('customer/3')[0]);
        $this->assertSame(200, $this->post(self::ev('Customer/Created', 40, ['i_customer' => 3]))); // the re-send does the work
        $this->assertSame([40], $this->calls);
        $this->assertSame(200, $this->post(self::ev('Customer/Updated', 999, ['i_customer' => 3])));
        $this->assertSame([40, 999], $this->calls, 'the failed work\'s own write was rolled back too');
    }
}
