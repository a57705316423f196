<?php

declare(strict_types=1);

use Espf\Auth;
use PHPUnit\Framework\TestCase;

/**
 * The schemes against PortaBilling's documented examples (the first
 * known-answer vector of each) and their near misses.
 */
final class AuthTest extends TestCase
{
    private const DOC_DATE = 'Thu, 12 Apr 2018 15:24:00 GMT';
    private const DOC_NOW = 1523546640; // DOC_DATE as Unix seconds

    private static function token(array $claims, string $key = 'superkey', string $alg = 'HS256'): string
    {
        $enc = static fn (string $b): string => rtrim(strtr(base64_encode($b), '+/', '-_'), '=');
        $head = $enc(json_encode(['alg' => $alg]));
        $body = $enc(json_encode($claims));
        $sig = $enc(hash_hmac('sha256', "$head.$body", $key, true));
        return "Bearer $head.$body.$sig";
    }

    public function testBasic(): void
    {
        $c = ['scheme' => 'basic', 'users' => ['username'], 'passwords' => ['secret']];
        $this->assertNull(Auth::verify('Basic dXNlcm5hbWU6c2VjcmV0', '', $c));
        $c2 = ['scheme' => 'basic', 'users' => ['EventUser'], 'passwords' => ['p:ss:word']];
        $this->assertNull(Auth::verify('Basic RXZlbnRVc2VyOnA6c3M6d29yZA==', '', $c2)); // colons in the password
        foreach ([
            'Basic dXNlcm5hbWU6U0VDUkVU', // username:SECRET
            'Basic VVNFUk5BTUU6c2VjcmV0', // USERNAME:secret
            'Bearer dXNlcm5hbWU6c2VjcmV0',
            '',
        ] as $wrong) {
            $this->assertNotNull(Auth::verify($wrong, '', $c), $wrong);
        }
        $this->assertNull(Auth::verify('BASIC dXNlcm5hbWU6c2VjcmV0', '', $c), 'the scheme name in capitals');
    }

    public function testCustom(): void
    {
        $c = ['scheme' => 'custom', 'name' => 'Plain', 'credentials' => ['passexample']];
        $this->assertNull(Auth::verify('Plain passexample', '', $c));
        $this->assertNull(Auth::verify('plain passexample', '', $c), 'the scheme name in lower case');
        foreach (['Plain PASSEXAMPLE', 'Token passexample', 'Plain passexamplf', 'passexample'] as $wrong) {
            $this->assertNotNull(Auth::verify($wrong, '', $c), $wrong);
        }
    }

    public function testSignature(): void
    {
        $c = ['scheme' => 'signature', 'key_ids' => ['test'], 'keys' => ['signature_key'], 'max_skew_seconds' => 300];
        $doc = 'Signature keyId="test",algorithm="hmac-sha1",signature="+IkiEg9UkyA+gh+pcI64itisKhs="';
        $this->assertNull(Auth::verify($doc, self::DOC_DATE, $c, self::DOC_NOW));
        $this->assertNull(Auth::verify(str_replace(',', ', ', $doc), self::DOC_DATE, $c, self::DOC_NOW)); // spaces after commas
        $this->assertNotNull(Auth::verify($doc, self::DOC_DATE, $c, self::DOC_NOW + 3600), 'an hour old');
        $this->assertNotNull(Auth::verify($doc, self::DOC_DATE, $c, self::DOC_NOW - 3600), 'an hour ahead');
        $this->assertNotNull(Auth::verify($doc, '', $c, self::DOC_NOW), 'no Date');
        $this->assertNotNull(Auth::verify(str_replace('test', 'TEST', $doc), self::DOC_DATE, $c, self::DOC_NOW), 'keyId case');
        $this->assertNotNull(Auth::verify(str_replace('hmac-sha1', 'hmac-sha256', $doc), self::DOC_DATE, $c, self::DOC_NOW));
        $this->assertNotNull(Auth::verify($doc, 'Thu, 12 Apr 2018 15:23:00 GMT', $c, self::DOC_NOW), 'another Date');
        $this->assertNotNull(Auth::verify($doc, 'yesterday', $c, self::DOC_NOW), 'not an HTTP date');
    }

    public function testBearer(): void
    {
        $c = ['scheme' => 'bearer', 'keys' => ['superkey'], 'i_env' => 3, 'max_skew_seconds' => 300];
        $doc = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJpX2VudiI6MywiRXhwIjoxNTYwMzQyMzE2fQ.PONYERv3xYs5g--XwbflOcaWddSuUNt7hAQqvoEcO4Q';
        $this->assertNull(Auth::verify($doc, '', $c, 1560342316 - 60));
        $this->assertNotNull(Auth::verify($doc, '', $c, 1560342316 + 3600), 'expired');
        $now = 2000000000;
        $this->assertNull(Auth::verify(self::token(['i_env' => 3, 'Exp' => $now + 60]), '', $c, $now));
        $this->assertNotNull(Auth::verify(self::token(['i_env' => 3]), '', $c, $now), 'no expiry');
        $this->assertNotNull(Auth::verify(self::token(['i_env' => 3, 'Exp' => $now + 60, 'exp' => $now - 3600]), '', $c, $now), 'exp passed');
        $this->assertNotNull(Auth::verify(self::token(['i_env' => 4, 'Exp' => $now + 60]), '', $c, $now), 'another i_env');
        $this->assertNotNull(Auth::verify(self::token(['i_env' => 3, 'Exp' => $now + 60], 'superkey', 'HS512'), '', $c, $now), 'HS512');
        $this->assertNotNull(Auth::verify(self::token(['i_env' => 3, 'Exp' => $now + 60], 'other'), '', $c, $now), 'another key');
        $parts = explode('.', self::token(['i_env' => 3, 'Exp' => $now + 60], 'superkey', 'none'));
        $this->assertNotNull(Auth::verify($parts[0] . '.' . $parts[1] . '.', '', $c, $now), 'alg none');
    }
}
