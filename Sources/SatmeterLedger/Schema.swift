/// The whole database schema, in one place. Every account amount is an integer number of
/// millisatoshis; proofs carry their mint's unit (sat).
///
/// Money lives in two columns per account: `balance_msat` (spendable) and `reserved_msat` (held for
/// requests in flight). Both are CHECKed non-negative, so no code path can overdraw. Every change to
/// either column writes a `ledger` row in the same transaction; `Ledger.audit()` re-derives both
/// columns from the rows.
enum Schema {
    /// The version `statements` create; `steps` bring an older database up to `version`.
    static let baseVersion: Int64 = 1
    static let version: Int64 = baseVersion + Int64(steps.count)

    static let statements = """
        CREATE TABLE IF NOT EXISTS accounts (
            id INTEGER PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            key_hint TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'key' CHECK (kind IN ('key', 'token')),
            label TEXT,
            balance_msat INTEGER NOT NULL DEFAULT 0 CHECK (balance_msat >= 0),
            reserved_msat INTEGER NOT NULL DEFAULT 0 CHECK (reserved_msat >= 0),
            total_deposited_msat INTEGER NOT NULL DEFAULT 0,
            total_spent_msat INTEGER NOT NULL DEFAULT 0,
            total_withdrawn_msat INTEGER NOT NULL DEFAULT 0,
            request_count INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            expires_at INTEGER,
            disabled INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS reservations (
            request_id TEXT PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            amount_msat INTEGER NOT NULL CHECK (amount_msat > 0),
            state TEXT NOT NULL CHECK (state IN ('held', 'settled', 'released')),
            owner TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            closed_at INTEGER,
            charged_msat INTEGER
        );
        CREATE INDEX IF NOT EXISTS reservations_held ON reservations(state, owner) WHERE state = 'held';
        CREATE TABLE IF NOT EXISTS ledger (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            kind TEXT NOT NULL CHECK (kind IN ('deposit', 'grant', 'reserve', 'release', 'charge', 'withdraw', 'overrun')),
            amount_msat INTEGER NOT NULL CHECK (amount_msat >= 0),
            request_id TEXT,
            created_at INTEGER NOT NULL,
            note TEXT
        );
        CREATE INDEX IF NOT EXISTS ledger_account ON ledger(account_id);
        CREATE TABLE IF NOT EXISTS proofs (
            secret TEXT PRIMARY KEY,
            mint TEXT NOT NULL,
            keyset_id TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            c TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('unspent', 'pending', 'spent')),
            operation_id TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS proofs_unspent ON proofs(mint, state);
        CREATE TABLE IF NOT EXISTS mint_operations (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('receive', 'send', 'melt')),
            mint TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            input_key TEXT NOT NULL,
            inputs TEXT NOT NULL,
            outputs TEXT NOT NULL,
            account_id INTEGER REFERENCES accounts(id),
            amount_msat INTEGER NOT NULL DEFAULT 0,
            request_id TEXT,
            result TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS mint_operations_inputs ON mint_operations(input_key) WHERE state != 'failed';
        CREATE INDEX IF NOT EXISTS mint_operations_pending ON mint_operations(state) WHERE state = 'pending';
        CREATE TABLE IF NOT EXISTS request_log (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            route TEXT NOT NULL,
            status INTEGER NOT NULL,
            error_code TEXT,
            account_id INTEGER,
            payment_method TEXT,
            provider TEXT,
            model TEXT,
            pricing_mode TEXT,
            pricing_source TEXT,
            resolved_price TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            usage_estimated INTEGER NOT NULL DEFAULT 0,
            payment_required_msat INTEGER,
            payment_settled INTEGER NOT NULL DEFAULT 0,
            settlement_ms INTEGER,
            upstream_status INTEGER,
            upstream_ms INTEGER,
            cost_msat INTEGER NOT NULL DEFAULT 0,
            revenue_msat INTEGER NOT NULL DEFAULT 0,
            upstream_cost_msat INTEGER NOT NULL DEFAULT 0,
            total_ms INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS request_log_time ON request_log(created_at);
        CREATE TABLE IF NOT EXISTS metrics (
            name TEXT NOT NULL,
            labels TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (name, labels)
        );
        CREATE TABLE IF NOT EXISTS payouts (
            id TEXT PRIMARY KEY,
            mint TEXT NOT NULL,
            destination TEXT NOT NULL,
            amount_msat INTEGER NOT NULL CHECK (amount_msat >= 0),
            fee_msat INTEGER NOT NULL DEFAULT 0 CHECK (fee_msat >= 0),
            state TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'failed')),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        """

    /// Changes to tables `statements` already created, applied once each, in order: step i takes
    /// a database from version `baseVersion + i` to the next. Never edit a released step; add one.
    static let steps: [String] = [
        // 2: key policies (child keys share their parent's balance; spending limit; allowed models;
        // refund address), the key a reservation was made with, admin sessions and login failures,
        // and the wallet-vs-owed history for the dashboard.
        """
        ALTER TABLE accounts ADD COLUMN parent_id INTEGER REFERENCES accounts(id);
        ALTER TABLE accounts ADD COLUMN spend_limit_msat INTEGER CHECK (spend_limit_msat >= 0);
        ALTER TABLE accounts ADD COLUMN allowed_models TEXT;
        ALTER TABLE accounts ADD COLUMN refund_address TEXT;
        CREATE INDEX IF NOT EXISTS accounts_parent ON accounts(parent_id) WHERE parent_id IS NOT NULL;
        ALTER TABLE reservations ADD COLUMN key_account_id INTEGER REFERENCES accounts(id);
        CREATE INDEX IF NOT EXISTS reservations_key_held ON reservations(key_account_id) WHERE state = 'held';
        CREATE TABLE IF NOT EXISTS admin_sessions (
            id_hash TEXT PRIMARY KEY,
            csrf_token TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS admin_login_failures (
            scope TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            window_start INTEGER NOT NULL,
            locked_until INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS balance_history (
            at INTEGER PRIMARY KEY,
            wallet_sat INTEGER NOT NULL,
            owed_msat INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS request_log_model ON request_log(model, created_at);
        """,
        // 3: Lightning top-ups (NUT-04 mint quotes). `id_hash` is the SHA-256 of the invoice id the
        // client holds; `outputs` are written before the mint is asked to sign them (recovery).
        // A key holder's usage history reads the request log by account.
        """
        CREATE TABLE IF NOT EXISTS lightning_invoices (
            id_hash TEXT PRIMARY KEY,
            quote_id TEXT NOT NULL,
            mint TEXT NOT NULL,
            amount_sat INTEGER NOT NULL CHECK (amount_sat > 0),
            bolt11 TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            purpose TEXT NOT NULL CHECK (purpose IN ('create', 'topup')),
            state TEXT NOT NULL CHECK (state IN ('unpaid', 'minting', 'paid', 'expired')),
            outputs TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            paid_at INTEGER,
            UNIQUE (mint, quote_id)
        );
        CREATE INDEX IF NOT EXISTS lightning_invoices_bolt11 ON lightning_invoices(bolt11);
        CREATE INDEX IF NOT EXISTS lightning_invoices_open ON lightning_invoices(state) WHERE state IN ('unpaid', 'minting');
        CREATE INDEX IF NOT EXISTS request_log_account ON request_log(account_id, id) WHERE account_id IS NOT NULL;
        """,
        // 4: pricing cohorts: the match rule that priced a request ('control' when none did), and a
        // pseudonymous client reference that links a 402 to the payment that follows it.
        """
        ALTER TABLE request_log ADD COLUMN cohort TEXT;
        ALTER TABLE request_log ADD COLUMN client_ref TEXT;
        CREATE INDEX IF NOT EXISTS request_log_route_cohort ON request_log(route, cohort, created_at);
        """,
        // 5: a reservation's heartbeat (its worker renews it while the request runs); credit the
        // operator granted and not yet spent (not withdrawable unless the key allows it); admin
        // lockouts counted per scope for a growing back-off (the global lock is gone).
        """
        ALTER TABLE reservations ADD COLUMN heartbeat_at INTEGER;
        ALTER TABLE accounts ADD COLUMN granted_unspent_msat INTEGER NOT NULL DEFAULT 0 CHECK (granted_unspent_msat >= 0);
        ALTER TABLE accounts ADD COLUMN grant_withdrawable INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE admin_login_failures ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
        DELETE FROM admin_login_failures WHERE scope = 'all';
        UPDATE accounts SET granted_unspent_msat = MIN(balance_msat + reserved_msat, MAX(0,
            (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger l WHERE l.account_id = accounts.id AND l.kind = 'grant') - total_spent_msat));
        """,
        // 6: every try of every provider for a request that failed over (the request log names only
        // the one that served). Older versions made it on first use, hence IF NOT EXISTS.
        """
        CREATE TABLE IF NOT EXISTS request_attempts (
            request_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            provider TEXT NOT NULL,
            status INTEGER,
            failure TEXT,
            millis INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (request_id, attempt)
        );
        """,
        // 7: per-key rate limits (nil: unlimited), and what each reservation counts against them:
        // its tokens (admitted estimate, then billed) and whether it is a stream (`KeyPolicy+RateLimits`).
        """
        ALTER TABLE accounts ADD COLUMN limit_rpm INTEGER CHECK (limit_rpm > 0);
        ALTER TABLE accounts ADD COLUMN limit_tpm INTEGER CHECK (limit_tpm > 0);
        ALTER TABLE accounts ADD COLUMN limit_streams INTEGER CHECK (limit_streams > 0);
        ALTER TABLE reservations ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reservations ADD COLUMN stream INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX IF NOT EXISTS reservations_key_window ON reservations(key_account_id, created_at, tokens);
        """,
        // 8: flat-priced windows (session products): one row per key, product and window start,
        // so a window's price is charged once however many requests race for it (`SessionStore`).
        """
        CREATE TABLE IF NOT EXISTS session_windows (
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            product TEXT NOT NULL,
            window_start INTEGER NOT NULL,
            window_end INTEGER NOT NULL,
            requests INTEGER NOT NULL CHECK (requests >= 0),
            tokens INTEGER NOT NULL CHECK (tokens >= 0),
            paid_request_id TEXT,
            paid_msat INTEGER CHECK (paid_msat >= 0),
            paid_at INTEGER,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, product, window_start)
        );
        """,
        // 9: which account created each Responses API object (`ResponseOwnerStore`): the upstream
        // sees only the operator's key, so the gateway alone can keep clients out of each other's.
        """
        CREATE TABLE IF NOT EXISTS response_owners (
            response_id TEXT PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            created_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS response_owners_account ON response_owners(account_id);
        """,
    ]
    // The node's own ecash lives in `proofs`. A swap with a mint is first written to
    // `mint_operations` (inputs, and our blinded outputs with their secrets and blinding factors)
    // and only then sent, so a crash between "the mint accepted" and "we recorded it" can be
    // finished on restart from what was written.

    /// Creates the tables, then applies the steps the database has not had, all in one write
    /// transaction (so processes starting together migrate once, and a failed step changes nothing).
    static func migrate(_ db: Database) throws(Database.Error) {
        try db.write { () throws(Database.Error) in
            try db.execute(db.isPostgres ? PostgresDialect.prelude + PostgresDialect.schema(statements) : statements)
            try db.query("INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', ?)", [.text(String(baseVersion))])
            let stored = try db.queryOne("SELECT value FROM meta WHERE name = 'schema_version'").flatMap { row in (row["value"]).flatMap { if case let .text(t) = $0 { Int64(t) } else { nil } } } ?? baseVersion
            guard stored < version else { return }
            for step in steps.dropFirst(Int(max(0, stored - baseVersion))) { try db.execute(db.isPostgres ? PostgresDialect.schema(step) : step) }
            try db.query("UPDATE meta SET value = ? WHERE name = 'schema_version'", [.text(String(version))])
        }
    }
}
