-- Sign-in's throttle, in the database so that it survives a restart and is shared by
-- every server on one database (see server/src/throttle.rs for the policy).
--
-- One row per thing whose wrong passwords are counted: a username from one client
-- address ('pair'), a username from all unknown devices ('name'), a username on one
-- device that signed in before ('device', subject = the device token's hash).
CREATE TABLE sign_in_throttle (
    scope TEXT NOT NULL CHECK (scope IN ('pair', 'name', 'device')),
    username TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- Wrong passwords counted so far.
    failures BIGINT NOT NULL,
    -- Attempts let through whose password is still being checked; counted as failures
    -- when the next attempt is judged, so a burst of parallel guesses gains nothing.
    pending BIGINT NOT NULL,
    -- When the last attempt was let through.
    last_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, username, subject)
);
CREATE INDEX sign_in_throttle_by_time ON sign_in_throttle (last_ms);

-- Devices that signed in before: the SHA-256 of the device cookie's token, per account
-- (one browser may be trusted for several people). The table alone lets no one in.
CREATE TABLE trusted_devices (
    token_hash TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (token_hash, account_id)
);
CREATE INDEX trusted_devices_by_account ON trusted_devices (account_id);
