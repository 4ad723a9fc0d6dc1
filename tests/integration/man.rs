//! The man pages in man/ are generated from the clap definition; this test
//! fails when they are stale. Regenerate with
//! `SSLWALK_UPDATE=1 cargo test --release --test integration man_pages`.

use clap::CommandFactory;
use std::path::Path;

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .expect("render man page");
    out
}

#[test]
fn man_pages_are_current() {
    let mut cmd = sslwalk::cli::args::Cli::command();
    cmd.build();
    let mut pages = vec![("sslwalk.1".to_string(), render(cmd.clone()))];
    // clap's generated `help` subcommand needs no page of its own.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("sslwalk-{}", sub.get_name());
        let static_name: &'static str = Box::leak(name.clone().into_boxed_str());
        pages.push((format!("{name}.1"), render(sub.clone().name(static_name))));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("SSLWALK_UPDATE").is_some();
    let mut stale = Vec::new();
    for (file, content) in &pages {
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(content.as_slice()) {
            stale.push(file.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale man pages {stale:?}: run SSLWALK_UPDATE=1 cargo test --release --test integration man_pages"
    );
}
