<?php

declare(strict_types=1);

namespace Espf;

/**
 * The four ESPF authorization schemes, checked as contract section 3 says.
 *
 * Auth::verify() returns null when the credentials are right, or the reason
 * they are not (never a secret). Secrets are compared in constant time
 * (hash_equals).
 */
final class Auth
{
    /** Seconds: the bound on a Signature Date's age and a Bearer Exp's leeway. */
    public const DEFAULT_MAX_SKEW = 300;

    /**
     * Checks one request's credentials header; $date is its Date header.
     *
     * @param array<string, mixed> $config config.json
     */
    public static function verify(string $header, string $date, array $config, ?float $now = null): ?string
    {
        $now ??= microtime(true);
        if ($header === '') {
            return 'no credentials header';
        }
        $scheme = (string) ($config['scheme'] ?? '');
        return match ($scheme) {
            'basic' => self::basic($header, $config),
            'custom' => self::custom($header, $config),
            'signature' => self::signature($header, $date, $config, $now),
            'bearer' => self::bearer($header, $config, $now),
            default => 'unknown scheme ' . $scheme,
        };
    }

    /** 'Scheme rest' -> ['scheme' lowercased, 'rest']. */
    private static function split(string $value): array
    {
        $parts = explode(' ', $value, 2);
        return [strtolower($parts[0]), $parts[1] ?? ''];
    }

    private static function skew(array $config): float
    {
        return (float) ($config['max_skew_seconds'] ?? self::DEFAULT_MAX_SKEW);
    }

    private static function basic(string $value, array $config): ?string
    {
        [$name, $rest] = self::split($value);
        if ($name !== 'basic') {
            return 'not Basic credentials';
        }
        $raw = base64_decode(trim($rest), true);
        if ($raw === false || preg_match('//u', $raw) !== 1) {
            return 'credentials are not base64 of user:password';
        }
        $colon = strpos($raw, ':'); // passwords may hold colons: split at the first
        if ($colon === false) {
            return 'credentials have no colon';
        }
        $user = substr($raw, 0, $colon);
        $password = substr($raw, $colon + 1);
        $users = array_values($config['users'] ?? []);
        $ok = false;
        foreach (array_values($config['passwords'] ?? []) as $i => $want) {
            $wantUser = $users[min($i, count($users) - 1)] ?? null;
            if ($wantUser === null) {
                continue;
            }
            // both compared, always, so the time does not say which one was wrong
            $userOk = hash_equals((string) $wantUser, $user);
            $passwordOk = hash_equals((string) $want, $password);
            $ok = $ok || ($userOk && $passwordOk);
        }
        return $ok ? null : 'wrong user or password';
    }

    private static function custom(string $value, array $config): ?string
    {
        [$name, $rest] = self::split($value);
        if ($name !== strtolower((string) ($config['name'] ?? ''))) {
            return 'another scheme name';
        }
        $ok = false;
        foreach ($config['credentials'] ?? [] as $want) {
            $ok = hash_equals((string) $want, $rest) || $ok;
        }
        return $ok ? null : 'wrong credentials';
    }

    private static function signature(string $value, string $date, array $config, float $now): ?string
    {
        [$name, $rest] = self::split($value);
        if ($name !== 'signature') {
            return 'not Signature credentials';
        }
        $params = [];
        $pos = 0;
        while ($pos < strlen($rest)) {
            if (preg_match('/\G\s*([A-Za-z]+)="([^"]*)"\s*(?:,|$)/', $rest, $m, 0, $pos) !== 1) {
                return 'malformed Signature parameters';
            }
            $params[$m[1]] = $m[2];
            $pos += strlen($m[0]);
        }
        if (($params['algorithm'] ?? null) !== 'hmac-sha1') {
            return 'algorithm is not hmac-sha1';
        }
        if ($date === '') {
            return 'no Date header (it is what is signed)';
        }
        $sent = self::httpDate($date);
        if ($sent === null) {
            return 'Date is not an HTTP date';
        }
        $skew = self::skew($config);
        if ($skew > 0 && abs($now - $sent) > $skew) {
            return sprintf('Date is more than %d s from this server\'s clock', $skew);
        }
        $ids = array_values($config['key_ids'] ?? []);
        $ok = false;
        foreach (array_values($config['keys'] ?? []) as $i => $key) {
            $keyId = $ids[min($i, count($ids) - 1)] ?? null; // the last id serves the rest of the keys
            if ($keyId === null) {
                continue;
            }
            $want = base64_encode(hash_hmac('sha1', $date, (string) $key, true));
            $idOk = hash_equals((string) $keyId, $params['keyId'] ?? '');
            $sigOk = hash_equals($want, $params['signature'] ?? '');
            $ok = $ok || ($idOk && $sigOk);
        }
        return $ok ? null : 'wrong keyId or signature';
    }

    /** An HTTP (RFC 7231) or RFC 2822 date as Unix seconds, or null; the day's name is not checked. */
    private static function httpDate(string $value): ?int
    {
        $rest = preg_replace('/^[A-Za-z]{3},\s*/', '', trim($value));
        $t = \DateTimeImmutable::createFromFormat('!d M Y H:i:s T', $rest);
        $errors = \DateTimeImmutable::getLastErrors();
        if ($t === false || ($errors !== false && $errors['warning_count'] > 0)) {
            return null;
        }
        return $t->getTimestamp();
    }

    private static function b64url(string $part): string|false
    {
        return base64_decode(strtr($part, '-_', '+/') . str_repeat('=', (4 - strlen($part) % 4) % 4), true);
    }

    private static function bearer(string $value, array $config, float $now): ?string
    {
        [$name, $token] = self::split($value);
        if ($name !== 'bearer') {
            return 'not Bearer credentials';
        }
        $parts = explode('.', trim($token));
        if (count($parts) !== 3) {
            return 'not a JWT';
        }
        $rawHeader = self::b64url($parts[0]);
        $rawClaims = self::b64url($parts[1]);
        $sig = self::b64url($parts[2]);
        if ($rawHeader === false || $rawClaims === false || $sig === false) {
            return 'not a JWT';
        }
        try {
            $header = json_decode($rawHeader, false, 512, JSON_THROW_ON_ERROR);
            $claims = json_decode($rawClaims, false, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException) {
            return 'not a JWT';
        }
        if (!$header instanceof \stdClass || ($header->alg ?? null) !== 'HS256') {
            return 'alg is not HS256';
        }
        $signing = $parts[0] . '.' . $parts[1];
        $ok = false;
        foreach ($config['keys'] ?? [] as $key) {
            $ok = hash_equals(hash_hmac('sha256', $signing, (string) $key, true), $sig) || $ok;
        }
        if (!$ok) {
            return 'wrong signature';
        }
        if (!$claims instanceof \stdClass) {
            return 'claims are not an object';
        }
        $skew = self::skew($config);
        $expiries = [];
        foreach (['Exp', 'exp'] as $k) { // PortaBilling writes Exp, capital E
            if (property_exists($claims, $k)) {
                $expiries[] = $claims->$k;
            }
        }
        if ($expiries === []) {
            return 'token has no expiry';
        }
        foreach ($expiries as $exp) {
            if (!(is_int($exp) || is_float($exp)) || $exp + $skew < $now) {
                return 'token expired';
            }
        }
        $want = $config['i_env'] ?? null;
        if ($want !== null) {
            $iEnv = $claims->i_env ?? null;
            if (!is_int($iEnv) || $iEnv !== (int) $want) {
                return 'token is for another i_env';
            }
        }
        return null;
    }
}
