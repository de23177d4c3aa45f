extension SatmeterConfig {
    /// The configuration used when no file is given. Every setting can be overridden by a file
    /// (`--config`) and the upstream, listen address and state directory by environment variables.
    public static let defaultYAML = """
        # Satmeter default configuration (embedded).
        server:
          listen: unix:/run/satmeter/fcgi.sock   # or 127.0.0.1:9000, or systemd (socket activation)
          socket_mode: "0660"                     # nginx's group may connect; never world-writable
          processes: 1
          threads: 64                             # concurrent requests (and streams) per process
          max_body_bytes: 4194304
          state_dir: /var/lib/satmeter
        upstream:
          base_url: https://api.openai.com/v1     # SATMETER_UPSTREAM_URL
          timeout_seconds: 120                    # whole non-streaming call
          stream_idle_timeout_seconds: 120        # longest silence inside a stream
          stream_reasoning_idle_timeout_seconds: 600  # longest silence while a model reasons (keep-alives do not count)
          stream_max_seconds: 3600                # longest stream; then ended, and what was relayed charged
          forward_headers: [openai-beta]          # client headers passed on (never credentials or X-Cashu)
        cashu:
          mints: []                               # trusted mints (SATMETER_CASHU_MINTS); empty: ecash off
          payout_threshold_sat: 210               # with RECEIVE_LN_ADDRESS set, earnings above this are paid out
          payout_interval_seconds: 900
          # key_limits: {requests_per_minute: 60, tokens_per_minute: 200000, concurrent_streams: 4}  # accounts minted from ecash; absent: unlimited
        ledger:
          reservation_timeout_seconds: 3600       # no heartbeat for this long: the worker is gone, release
          pool_size: 8                            # PostgreSQL connections per worker process (docs/postgres.md)
        admin:
          request_log_retention_days: 90          # 0 keeps every request-log record
          session_hours: 12                       # admin dashboard sessions
          max_login_failures: 5                   # per client address, then locked out
          max_account_login_failures: 100         # from all addresses: then only addresses that failed wait
          lockout_seconds: 900                    # doubles with each further lockout (at most a week)
        """
}
