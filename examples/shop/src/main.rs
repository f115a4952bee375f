//! Runs the example shop: `cargo run -p shop-example` (see `--help`).

use std::sync::Arc;

use clap::Parser;
use shop_example::notifier::LogNotifier;
use shop_example::{start, BoxError, Config};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = Config::parse();
    let server = start(&config, Arc::new(LogNotifier)).await?;
    let backend = config.database_url.split(':').next().unwrap_or("?");
    let redis = if config.redis_url.is_some() {
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
    println!("API description: {}/openapi.json", server.url);
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    server.stop().await;
    Ok(())
}
