//! Runs the example shop: `cargo run -p shop-example` (see `--help`).
//!
//! It serves until SIGTERM or SIGINT (Ctrl-C), then stops accepting
//! connections, lets requests in flight finish and stops the background
//! jobs at their next chunk boundary. A start that fails prints one
//! sentence naming the setting to change and exits with status 1.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use shop_core::Shop;
use shop_example::passwords::PasswordPool;
use shop_example::{open_storage, seed, start, Command, Config};

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    // Logs (warnings and errors by default) go to stderr; `SHOP_LOG=debug`
    // adds one line per request.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(config.log_level)
        .init();
    if let Some(Command::ResetAdminPassword { email }) = &config.command {
        return reset_admin_password(&config, email).await;
    }
    let notifier = match config.mail.notifier() {
        Ok(notifier) => notifier,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match start(&config, notifier).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let backend = config.database_url.split(':').next().unwrap_or("?");
    let redis = if config
        .redis_url
        .as_deref()
        .is_some_and(|u| !u.trim().is_empty())
    {
        ", carts, sessions and rate limits in Redis"
    } else {
        ""
    };
    println!(
        "shop listening on {} ({backend} database{redis})",
        server.url
    );
    if let Some(admin) = &server.admin {
        println!(
            "seeded a demo catalog; administrator: {} / {}",
            admin.email, admin.password
        );
    }
    if server.state.sandbox.is_some() {
        println!(
            "sandbox payments are on: buyers pay their own orders at /sandbox/pay without money (SHOP_SANDBOX=off removes it)"
        );
    }
    println!("API description: {}/openapi.json", server.url);
    let signal = shutdown_signal().await;
    println!("{signal}: shutting down");
    server.stop().await;
    println!("stopped");
    ExitCode::SUCCESS
}

/// Waits for SIGTERM (what systemd, Docker and Kubernetes send) or SIGINT
/// (Ctrl-C); names the one that came.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// `shop-example reset-admin-password [--email …]`.
async fn reset_admin_password(config: &Config, email: &str) -> ExitCode {
    let reset = async {
        shop_example::startup::check_database_exists(&config.database_url)?;
        let (stores, _) = open_storage(config).await?;
        let shop = Shop::builder(stores)
            .secrets(Arc::new(PasswordPool::per_core()))
            .build();
        seed::reset_admin_password(&shop, email).await
    };
    match reset.await {
        Ok(admin) => {
            println!("new password of {}: {}", admin.email, admin.password);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
