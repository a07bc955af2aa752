-- Who wrote a change. Every actor (the writing identity of one device in the documents)
-- is bound to the account that first brought a change of it; the server judges each change
-- by that account's rights, whoever sends it. An actor bound to no account is the server's
-- (the genesis actor, the actors that write streets): no client may write with it.
CREATE TABLE actors (
    -- The actor id in lowercase hex.
    actor TEXT PRIMARY KEY NOT NULL,
    account_id TEXT REFERENCES accounts (id),
    first_ms BIGINT NOT NULL
);
CREATE INDEX actors_by_account ON actors (account_id);
INSERT INTO actors (actor, account_id, first_ms) VALUES ('00000000000000000000000000000000', NULL, 0);

-- A change's line names its author beside the account that sent it.
ALTER TABLE audit_log ADD COLUMN author_actor TEXT;
ALTER TABLE audit_log ADD COLUMN author_account_id TEXT;
