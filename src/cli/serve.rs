//! `rehearsal serve FILE`: one run played in real time × `--speed` as live Prometheus metrics
//! (`/metrics`), its state as JSON (`/api/state`) and a live page (`/`, server-sent events
//! from `/events`).
//!
//! The run is computed whole in a blocking task (the engine stays synchronous and
//! deterministic), then a pacer publishes the simulated instant `speed × elapsed` every
//! [`TICK`] through a `watch` channel; HTTP handlers only read the latest snapshot and never
//! wait for the engine. Ctrl-C, or the horizon without `--loop`, stops the server; open
//! event streams end with the pacer, and connections get [`GRACE`] to close.

use super::export::RunChoice;
use crate::engine::SimTime;
use crate::monitoring::live::Live;
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use clap::Args;
use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the pacer publishes the simulated instant.
pub const TICK: Duration = Duration::from_millis(250);
/// How long open connections get to close once the server stops.
pub const GRACE: Duration = Duration::from_secs(3);
/// The fastest pace: a day of simulated time in under a second.
const MAX_SPEED: f64 = 100_000.0;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub run: RunChoice,
    /// Simulated seconds per wall-clock second. Alert rules evaluated by a real Prometheus
    /// see wall-clock time: their windows are faithful only at 1.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub speed: f64,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// Allow a non-loopback --listen address: anyone who can reach it sees the drill.
    #[arg(long)]
    pub allow_remote: bool,
    /// Replay replications back to back (R, R + 1, …) until Ctrl-C, for long game days;
    /// counters restart at 0 with each, as after a process restart.
    #[arg(long = "loop")]
    pub repeat: bool,
}

/// What handlers read: a run and the simulated instant it is at.
#[derive(Debug, Clone)]
struct Snapshot {
    live: Arc<Live>,
    now: SimTime,
}

type Shared = watch::Receiver<Snapshot>;

pub(super) fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.speed.is_finite() && args.speed > 0.0 && args.speed <= MAX_SPEED,
        "--speed {}: expected a number of simulated seconds per second in (0, {MAX_SPEED}]",
        args.speed
    );
    anyhow::ensure!(
        args.listen.ip().is_loopback() || args.allow_remote,
        "--listen {}: not a loopback address; the drill's metrics would be open to the network: add --allow-remote to mean it, or listen on 127.0.0.1",
        args.listen
    );
    let (scenario, strategy) = args.run.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen {}: cannot listen", args.listen))?;
        let scenario = Arc::new(scenario);
        let record = move |replication: u32| {
            let scenario = Arc::clone(&scenario);
            tokio::task::spawn_blocking(move || Live::record(&scenario, strategy, replication))
        };
        let live = Arc::new(record(args.run.replication).await??);
        let (tx, rx) = watch::channel(Snapshot {
            live: Arc::clone(&live),
            now: SimTime::ZERO,
        });
        let app = Router::new()
            .route("/", get(page))
            .route("/metrics", get(metrics))
            .route("/api/state", get(state))
            .route("/events", get(events))
            .with_state(rx);
        let addr = listener.local_addr()?;
        let mut stdout = io::stdout();
        writeln!(
            stdout,
            "serving {} · {} · replication {} at {}× on http://{addr}/ (metrics: /metrics); Ctrl-C stops",
            live.scenario, live.strategy, live.replication, args.speed
        )?;
        stdout.flush()?;
        // Set once the pacer has stopped (Ctrl-C, or the horizon without --loop).
        let (stop, stopped) = watch::channel(false);
        let pacer = tokio::spawn(async move {
            let mut live = live;
            let mut replication = args.run.replication;
            let mut started = Instant::now();
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = tokio::signal::ctrl_c() => break,
                }
                let elapsed = started.elapsed().as_secs_f64() * args.speed;
                let now = SimTime((elapsed * 1e6) as u64).min(live.horizon);
                tx.send_replace(Snapshot {
                    live: Arc::clone(&live),
                    now,
                });
                if now < live.horizon {
                    continue;
                }
                if !args.repeat {
                    break;
                }
                replication += 1;
                match record(replication).await {
                    Ok(Ok(next)) => live = Arc::new(next),
                    _ => break,
                }
                started = Instant::now();
            }
            // Dropping the sender ends every event stream.
            drop(tx);
            stop.send_replace(true);
        });
        let mut shutdown = stopped.clone();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|&s| s).await;
        });
        let mut stopped = stopped;
        let served = tokio::select! {
            r = server => r.map_err(anyhow::Error::from),
            _ = async {
                let _ = stopped.wait_for(|&s| s).await;
                tokio::time::sleep(GRACE).await
            } => Ok(()),
        };
        pacer.abort();
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn page() -> Html<&'static str> {
    Html(include_str!("../monitoring/live.html"))
}

async fn metrics(State(rx): State<Shared>) -> impl IntoResponse {
    let snap = rx.borrow().clone();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        snap.live.metrics(snap.now),
    )
}

async fn state(State(rx): State<Shared>) -> Json<serde_json::Value> {
    let snap = rx.borrow().clone();
    Json(snap.live.state(snap.now))
}

async fn events(State(rx): State<Shared>) -> impl IntoResponse {
    // The run so far first, so that a page joining late draws all of it.
    let first = rx.borrow().clone();
    let backlog: Vec<Result<Event, Infallible>> = first
        .live
        .backlog(first.now)
        .into_iter()
        .map(|t| Ok(Event::default().data(first.live.state(t).to_string())))
        .collect();
    let initial = futures_util::stream::iter(backlog);
    let updates = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let snap = rx.borrow_and_update().clone();
        let event = Event::default().data(snap.live.state(snap.now).to_string());
        Some((Ok::<_, Infallible>(event), rx))
    });
    use futures_util::StreamExt as _;
    Sse::new(initial.chain(updates)).keep_alive(KeepAlive::default())
}
