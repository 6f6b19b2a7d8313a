//! Idle means idle: a signed-in engine that watches a whole company directory sleeps until a
//! refresh or a datagram is due. Counted in the times the engine's threads went to sleep
//! (tokio's park count), not in time, so a slow machine cannot pass or fail it.

use std::time::Duration;

use crate::support::*;
use sipcore::{EngineConfig, Event, Pacing};

/// Wake-ups allowed in `QUIET` once the subscriptions are up. A resting engine wakes for the
/// address check (every 5 s) and a keepalive (every 25 s); one that keeps subscribing wakes
/// hundreds of times a second.
const MOST_WAKES: u64 = 300;
const QUIET: Duration = Duration::from_secs(10);

#[test]
fn an_engine_watching_ten_thousand_colleagues_rests_once_their_subscriptions_are_up() {
    let pbx = pbx();
    // Fast pacing so that the watched ones are up in a second; how many are watched is the
    // engine's default.
    let config = EngineConfig {
        subscriptions: Pacing {
            per_second: 200.0,
            burst: 50.0,
            in_flight: 20,
            ..Pacing::default()
        },
        ..EngineConfig::default()
    };
    let most = config.subscriptions.most_watched;
    let mut ua = Ua::start_with(config);
    ua.register(&pbx);
    let me = ua.extension();
    // A directory of 10,000: the pool's real extensions first, then made-up ones.
    let real: Vec<String> = harness::users::all()
        .unwrap()
        .into_iter()
        .map(|u| u.extension)
        .filter(|e| *e != me && !e.starts_with('1'))
        .collect();
    let mut directory = real.clone();
    directory.extend((0..10_000 - real.len()).map(|n| format!("{}", 30_000 + n)));
    ua.handle.send(sipcore::Command::Watch {
        extensions: directory,
    });

    // Every real one within the most watched reports its phone status.
    let mut waiting: Vec<String> = real.into_iter().take(most).collect();
    assert!(!waiting.is_empty(), "the pool has extensions to watch");
    while !waiting.is_empty() {
        let what = format!("the phone status of {} colleagues", waiting.len());
        let e = ua.wait(
            &what,
            |e| matches!(e, Event::PhoneStatus { extension, .. } if waiting.contains(extension)),
        );
        if let Event::PhoneStatus { extension, .. } = e {
            waiting.retain(|x| *x != extension);
        }
    }
    // The stack forgets each finished SUBSCRIBE 5 s after its answer (timer K); wait those
    // out, so that what is counted is the resting engine.
    std::thread::sleep(Duration::from_secs(6));

    let before = ua.handle.wakes();
    std::thread::sleep(QUIET);
    let wakes = ua.handle.wakes() - before;
    eprintln!("idle: {wakes} wake-ups in {QUIET:?} watching {most} of 10,000");
    assert!(
        wakes < MOST_WAKES,
        "the engine woke {wakes} times in {QUIET:?} after its subscriptions were up"
    );
}
