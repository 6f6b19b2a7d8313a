//! How the store holds up at the sizes a heavy user reaches: full-text search over a million
//! messages, paging through a million calls (first page and one deep in the list), and a burst
//! of ten thousand messages. Printed, never asserted: `cargo bench -p storage`.
//!
//! The million-row database is built once per run in a temporary folder; its build time is
//! printed too, as a bulk-insert figure.

use std::time::Instant;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use storage::{CallKind, Delivery, HistoryFilter, NewHistoryEntry, NewMessage, Store};

const MESSAGES: usize = 1_000_000;
const CALLS: usize = 1_000_000;
const CONVERSATIONS: usize = 1_000;
const BATCH: usize = 10_000;
const PAGE: usize = 50;

/// Common words first: picking with a skew towards the front gives the long tail real text has.
const WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "and",
    "of",
    "is",
    "in",
    "for",
    "on",
    "you",
    "it",
    "meeting",
    "call",
    "thanks",
    "can",
    "we",
    "please",
    "today",
    "tomorrow",
    "customer",
    "ticket",
    "invoice",
    "order",
    "deploy",
    "server",
    "release",
    "lunch",
    "office",
    "report",
    "budget",
    "contract",
    "review",
    "update",
    "schedule",
    "client",
    "support",
    "issue",
    "price",
    "quote",
    "shipping",
    "delivery",
    "password",
    "printer",
    "holiday",
    "weekend",
    "phone",
    "number",
    "extension",
    "voicemail",
    "fax",
    "queue",
    "agent",
    "room",
    "project",
    "deadline",
    "friday",
    "monday",
    "café",
    "naïve",
    "résumé",
    "approved",
    "rejected",
    "urgent",
    "later",
    "coffee",
];

fn sentence(rng: &mut fastrand::Rng, n: usize) -> String {
    let len = 6 + rng.usize(..14);
    let mut words: Vec<String> = (0..len)
        .map(|_| {
            let skewed = rng.f64().powi(3);
            WORDS[(skewed * WORDS.len() as f64) as usize].to_string()
        })
        .collect();
    // A rare token per message (an order number), shared by ten messages each.
    words.push(format!("ord{}", n / 10));
    words.join(" ")
}

fn message(rng: &mut fastrand::Rng, conversations: &[i64], n: usize) -> NewMessage {
    NewMessage {
        conversation_id: conversations[rng.usize(..conversations.len())],
        sender: format!("{}", 1000 + rng.usize(..200)),
        sent_at: n as i64 * 1000,
        body: sentence(rng, n),
        attachments: vec![],
        delivery: Delivery::Delivered,
    }
}

fn call(rng: &mut fastrand::Rng, n: usize) -> NewHistoryEntry {
    let kind = match rng.u8(..100) {
        0..10 => CallKind::Missed,
        10..15 => CallKind::Voicemail,
        15..55 => CallKind::Incoming,
        _ => CallKind::Outgoing,
    };
    let at = n as i64 * 60_000;
    NewHistoryEntry {
        kind,
        remote_name: Some(format!("Caller {}", rng.usize(..5000))),
        remote_number: format!("+1555{:07}", rng.usize(..10_000_000)),
        started_at: at,
        answered_at: (kind != CallKind::Missed).then_some(at + 3000),
        ended_at: at + 90_000,
        result: "Call ended".into(),
        account: "1001@pbx".into(),
        quality_mos: Some(4.2),
        queue: None,
    }
}

fn build(dir: &std::path::Path) -> (Store, Vec<i64>) {
    let mut rng = fastrand::Rng::with_seed(5);
    let mut s = Store::open(dir).unwrap();
    let conversations: Vec<i64> = (0..CONVERSATIONS)
        .map(|i| s.direct_conversation(&format!("{}", 2000 + i), 0).unwrap())
        .collect();
    let started = Instant::now();
    for chunk in 0..MESSAGES / BATCH {
        let batch: Vec<_> = (0..BATCH)
            .map(|i| message(&mut rng, &conversations, chunk * BATCH + i))
            .collect();
        s.add_messages(&batch).unwrap();
    }
    println!(
        "built {MESSAGES} messages (FTS-indexed, {BATCH} per transaction) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for chunk in 0..CALLS / BATCH {
        let batch: Vec<_> = (0..BATCH)
            .map(|i| call(&mut rng, chunk * BATCH + i))
            .collect();
        s.add_history_batch(&batch).unwrap();
    }
    println!(
        "built {CALLS} calls ({BATCH} per transaction) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (s, conversations)
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, conversations) = build(dir.path());

    let mut search = c.benchmark_group("search 1M messages");
    for (label, words) in [
        ("common word", "meeting"),
        ("rare token", "ord12345"),
        ("two words", "invoice approved"),
        ("prefix as typed", "deli"),
        ("accent folded", "cafe"),
        ("no match", "zebra"),
    ] {
        let shown = s.search_messages(words, None, PAGE).unwrap().len();
        search.bench_function(format!("{label} ({shown} shown)"), |b| {
            b.iter(|| s.search_messages(words, None, PAGE).unwrap())
        });
    }
    let one = conversations[CONVERSATIONS / 2];
    for (label, words) in [
        ("one conversation of 1000, common word", "meeting"),
        ("one conversation of 1000, rare token", "ord12345"),
    ] {
        let shown = s.search_conversation(one, words, None, PAGE).unwrap().len();
        search.bench_function(format!("{label} ({shown} shown)"), |b| {
            b.iter(|| s.search_conversation(one, words, None, PAGE).unwrap())
        });
    }
    // The hundredth page of a common word, reached by keyset as the list scrolls.
    let mut before = None;
    for _ in 0..99 {
        before = s
            .search_messages("meeting", before, PAGE)
            .unwrap()
            .last()
            .map(|m| m.id);
    }
    search.bench_function("common word, 100th page", |b| {
        b.iter(|| s.search_messages("meeting", before, PAGE).unwrap())
    });
    search.finish();

    let mut history = c.benchmark_group("page 1M calls");
    let newest = s.history_page(HistoryFilter::All, "", None, 1).unwrap()[0].id;
    let deep = Some(newest - 900_000);
    let missed = HistoryFilter::Kind(CallKind::Missed);
    let voicemail = HistoryFilter::Kind(CallKind::Voicemail);
    for (label, filter, search, before) in [
        ("first page", HistoryFilter::All, "", None),
        ("900,000 rows deep", HistoryFilter::All, "", deep),
        ("missed, first page", missed, "", None),
        ("missed, 900,000 rows deep", missed, "", deep),
        ("voicemail, 900,000 rows deep", voicemail, "", deep),
        (
            "search a number, first page",
            HistoryFilter::All,
            "5550",
            None,
        ),
        (
            "search a number no call has (reads every row)",
            HistoryFilter::All,
            "+19999",
            None,
        ),
    ] {
        history.bench_function(label, |b| {
            b.iter(|| s.history_page(filter, search, before, PAGE).unwrap())
        });
    }
    history.finish();

    let mut burst = c.benchmark_group("burst of 10,000 messages");
    burst.sample_size(10);
    let mut rng = fastrand::Rng::with_seed(9);
    burst.bench_function("one transaction (add_messages)", |b| {
        b.iter_batched(
            || {
                (0..10_000)
                    .map(|i| message(&mut rng, &conversations, i))
                    .collect::<Vec<_>>()
            },
            |batch| s.add_messages(&batch).unwrap(),
            BatchSize::LargeInput,
        )
    });
    let mut rng = fastrand::Rng::with_seed(10);
    burst.bench_function("a transaction each (add_message)", |b| {
        b.iter_batched(
            || {
                (0..10_000)
                    .map(|i| message(&mut rng, &conversations, i))
                    .collect::<Vec<_>>()
            },
            |batch| {
                for m in &batch {
                    s.add_message(m).unwrap();
                }
            },
            BatchSize::LargeInput,
        )
    });
    burst.finish();
}

criterion_group! {
    name = store;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(store);
