<?php

/*
 * Your provisioning code: the one place to edit.
 *
 * provision($event, $db) is called once per new event, inside the
 * transaction that records it: when it returns, the event, its i_event and
 * whatever you wrote with $db are committed together and PortaBilling gets
 * 200. Throw to refuse the event for now: nothing is committed, PortaBilling
 * gets 500 and sends it again later. It is not called again for an event
 * already committed (a re-send), nor for an event older than what its
 * entity already shows (a late re-send overtaken by a newer event).
 *
 * $event is the decoded body: $event['event_type'] ("Subscriber/Created",
 * "Customer/Updated", "Account/AccessPolicy/Changed"…) and
 * $event['variables'] (i_event, i_account or i_customer or i_invoice or
 * number, and, from newer releases, i_env, event_time and more). Types you
 * do not handle: return, and the event is recorded as done.
 *
 * $db is the PDO (SQLite) connection of the transaction: write your own
 * tables with it (create them in PROVISION_SCHEMA below). Do not commit or
 * roll back.
 */

declare(strict_types=1);

const PROVISION_SCHEMA = '';

function provision(array $event, PDO $db): void
{
}
