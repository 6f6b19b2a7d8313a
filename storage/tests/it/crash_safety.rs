//! Nothing committed is lost when the app is killed mid-write, and the file is never left
//! damaged. This test binary runs its own `writer` test again as a child that adds calls and
//! batches of messages (and edits some) as fast as it can, printing each id only after its
//! commit returned; the parent kills it with SIGKILL at a random moment, reopens the database,
//! and finds every printed id and a clean integrity check. Twenty rounds on the same file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use storage::{CallKind, Delivery, NewHistoryEntry, NewMessage, Store};

/// Set in the child: the profile folder to write to.
const DIR: &str = "SWITCHBOARD_TEST_CRASH_DIR";
const ROUNDS: usize = 20;

/// The half that is killed; a no-op when run directly.
#[test]
fn writer() {
    let Some(dir) = std::env::var_os(DIR) else {
        return;
    };
    let mut s = Store::open(Path::new(&dir)).expect("open");
    let conversation = s.direct_conversation("1002", 0).expect("conversation");
    for n in 0.. {
        let call = s
            .add_history(&NewHistoryEntry {
                kind: CallKind::Incoming,
                remote_name: Some("Grace Hopper".into()),
                remote_number: "1002".into(),
                started_at: n,
                answered_at: Some(n + 1),
                ended_at: n + 2,
                result: "Call ended".into(),
                account: "1001@pbx".into(),
                quality_mos: Some(4.1),
                queue: None,
            })
            .expect("add call");
        println!("call {call}");
        let batch: Vec<_> = (0..1 + n % 40)
            .map(|i| NewMessage {
                conversation_id: conversation,
                sender: "1002".into(),
                sent_at: n,
                body: format!("message {i} of round trip {n} with some words to index"),
                attachments: vec![],
                delivery: Delivery::Delivered,
            })
            .collect();
        let ids = s.add_messages(&batch).expect("add messages");
        for id in &ids {
            println!("message {id}");
        }
        let last = *ids.last().expect("a batch is never empty");
        s.edit_message(last, &format!("edited {n}"), n)
            .expect("edit");
        println!("edited {last}");
    }
}

/// What the child reported committed before it died.
#[derive(Default)]
struct Committed {
    calls: Vec<i64>,
    messages: Vec<i64>,
    edited: Vec<i64>,
}

fn spawn_writer(dir: &Path) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_safety::writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the writer");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            // A line cut off by the kill has no newline; its id was never fully reported.
            if line.ends_with('\n') && tx.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });
    (child, rx)
}

fn record(line: &str, into: &mut Committed) {
    let mut words = line.split(' ');
    let (Some(what), Some(id)) = (words.next(), words.next().and_then(|w| w.parse().ok())) else {
        return; // the test harness's own lines
    };
    match what {
        "call" => into.calls.push(id),
        "message" => into.messages.push(id),
        "edited" => into.edited.push(id),
        _ => {}
    }
}

#[test]
fn every_reported_write_survives_a_kill_and_the_file_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let profile: PathBuf = dir.path().join("profile");
    let seed = fastrand::u64(..);
    println!("seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut committed = Committed::default();
    for round in 0..ROUNDS {
        let (mut child, lines) = spawn_writer(&profile);
        // Odd rounds may kill it while it opens the file (and recovers the WAL); even rounds
        // wait until it is writing, then kill it somewhere in the middle of its work.
        if round % 2 == 0 {
            let first = lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the writer reports its first write");
            record(&first, &mut committed);
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..300)));
        // Child::kill sends SIGKILL to this child's PID: no destructor, no flush, no rollback.
        child.kill().expect("kill the writer");
        child.wait().unwrap();
        for line in lines.iter() {
            record(&line, &mut committed);
        }

        let s = Store::open(&profile).unwrap_or_else(|e| panic!("round {round}: {e}"));
        for &id in &committed.calls {
            assert!(
                s.history_entry(id).unwrap().is_some(),
                "round {round}: call {id} was reported committed and is gone"
            );
        }
        for &id in &committed.messages {
            assert!(
                s.message(id).unwrap().is_some(),
                "round {round}: message {id} was reported committed and is gone"
            );
        }
        for &id in &committed.edited {
            let m = s.message(id).unwrap().unwrap();
            assert!(
                m.body.starts_with("edited"),
                "round {round}: edit of {id} lost"
            );
        }
        assert_eq!(
            s.integrity_problems().unwrap(),
            Vec::<String>::new(),
            "round {round}"
        );
    }
    println!(
        "{ROUNDS} kills: {} calls, {} messages, {} edits reported and found",
        committed.calls.len(),
        committed.messages.len(),
        committed.edited.len()
    );
    assert!(
        committed.messages.len() > ROUNDS,
        "the writer hardly wrote anything; the test proved little"
    );
}
