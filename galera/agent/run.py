"""The agent's process: its HTTP server, the supervisor of mariadbd, and the watchers
(renewed TLS files, a backup that did not end), until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import threading

from galera import proc
from galera.agent import guard
from galera.agent.api import make_handler
from galera.agent.server import Agent
from galera.agent.supervisor import Supervisor
from galera.agent.tlswatch import TlsWatch
from galera.config.agent import AgentConfig

log = logging.getLogger("galera.agent")


def serve(config: AgentConfig, start_mode: str | None = None) -> int:
    """Run the agent in the foreground until SIGTERM/SIGINT; usable as a container's PID 1."""
    tokens = guard.Tokens(config.token, config.token_source())
    backup_tokens = guard.Tokens(config.backup_token, config.backup_token_file)
    if not tokens.current:
        log.warning("no agent token configured: mutating endpoints will refuse every request")
    supervisor = Supervisor(config)
    agent = Agent(config, supervisor)
    if config.tls is not None:
        agent.tls_watch = TlsWatch(
            config.tls,
            [config.server.node_address],
            agent.endpoint(),
            agent.admin_credentials,
            lambda: supervisor.running,
        )
        agent.tls_watch.start()
    server = guard.BoundedServer(
        (config.listen_host, config.listen_port), make_handler(agent, tokens, backup_tokens)
    )

    def on_stop(signum: int) -> None:  # in the signal-watching thread, not in a handler
        log.info("received signal %d: stopping mariadbd and exiting", signum)
        server.shutdown()

    proc.Shutdown(on_stop).install()
    supervisor.run_in_background()
    stopped = threading.Event()  # the agent's end: background watchers finish
    threading.Thread(
        target=agent.backups.resync_leftover, args=(stopped,), name="backup", daemon=True
    ).start()
    mode = start_mode or config.start
    if mode != "none":
        supervisor.start(mode)
    scheme = "https" if config.tls is not None else "http"
    log.info(
        "agent %s listening on %s://%s:%d",
        config.name,
        scheme,
        config.listen_host,
        config.listen_port,
    )
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        stopped.set()
        if agent.tls_watch is not None:
            agent.tls_watch.stop()
        supervisor.shutdown()
        server.server_close()
    return 0
