//! The three deployments a [`RedisStore`](crate::RedisStore) connects to,
//! chosen by the URL's scheme, behind one cloneable connection type.
//!
//! | URL | deployment |
//! |---|---|
//! | `redis://[[user]:password@]host[:port][/db]` | one server |
//! | `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/service[/db]` | the primary of `service`, found through Sentinel (port 26379 by default) |
//! | `redis+cluster://[[user]:password@]host[:port][,host[:port]…]` | a Redis Cluster, found through any of the nodes (port 6379 by default) |
//!
//! With Sentinel the credentials and database are the primary's; the
//! Sentinel nodes themselves are asked without credentials.

use std::sync::{Arc, Mutex};

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};
use shop_core::Error;

use crate::{redis_err, TIMEOUT};

/// Where the Redis of a store runs, parsed from its URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Deployment {
    /// One server at this URL.
    Standalone(String),
    /// The primary of `service`, found through the Sentinel nodes
    /// `sentinels` (URLs); `primary` is a URL holding the primary's
    /// credentials and database (its host is a placeholder).
    Sentinel {
        sentinels: Vec<String>,
        service: String,
        primary: String,
    },
    /// A cluster, found through these node URLs.
    Cluster(Vec<String>),
}

impl Deployment {
    /// Parses a store URL (see the module docs); the error says what is
    /// wrong with it.
    pub(crate) fn parse(url: &str) -> Result<Deployment, String> {
        if let Some(rest) = url.strip_prefix("redis+cluster://") {
            let (auth, hosts, path) = split_hosts(rest, 6379)?;
            if !path.is_empty() {
                return Err("a Redis Cluster URL has no path (a cluster has one database)".into());
            }
            return Ok(Deployment::Cluster(
                hosts.iter().map(|h| format!("redis://{auth}{h}")).collect(),
            ));
        }
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            let (auth, hosts, path) = split_hosts(rest, 26379)?;
            let mut parts = path.split('/').filter(|p| !p.is_empty());
            let service = parts
                .next()
                .ok_or("a Sentinel URL names its service: redis+sentinel://host:26379/mymaster")?;
            let db = match parts.next() {
                None => 0,
                Some(db) => db
                    .parse::<u32>()
                    .map_err(|_| format!("{db:?} is not a database number"))?,
            };
            if parts.next().is_some() {
                return Err("a Sentinel URL ends with /service or /service/db".into());
            }
            return Ok(Deployment::Sentinel {
                sentinels: hosts.iter().map(|h| format!("redis://{h}")).collect(),
                service: service.to_owned(),
                primary: format!("redis://{auth}primary/{db}"),
            });
        }
        Ok(Deployment::Standalone(url.to_owned()))
    }

    /// Connects, with [`TIMEOUT`] for connecting and for each command.
    pub(crate) async fn connect(&self) -> shop_core::Result<Conn> {
        let invalid = |e: redis::RedisError| {
            Error::validation("redis_url", format!("not a usable Redis URL: {e}"))
        };
        match self {
            Deployment::Standalone(url) => {
                let client = Client::open(url.as_str()).map_err(invalid)?;
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(2);
                let conn = client
                    .get_connection_manager_with_config(config)
                    .await
                    .map_err(redis_err)?;
                Ok(Conn::Standalone(conn))
            }
            Deployment::Cluster(nodes) => {
                let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(TIMEOUT)
                    .response_timeout(TIMEOUT)
                    .retries(2)
                    .build()
                    .map_err(invalid)?;
                let conn = client.get_async_connection().await.map_err(redis_err)?;
                Ok(Conn::Cluster(conn))
            }
            Deployment::Sentinel {
                sentinels,
                service,
                primary,
            } => {
                let primary = primary.as_str().into_connection_info().map_err(invalid)?;
                let node = SentinelNodeConnectionInfo::default()
                    .set_redis_connection_info(primary.redis_settings().clone());
                let client = SentinelClient::build(
                    sentinels.iter().map(String::as_str).collect(),
                    service.clone(),
                    Some(node),
                    SentinelServerType::Master,
                )
                .map_err(invalid)?;
                let conn = SentinelConn {
                    inner: Arc::new(SentinelInner {
                        client: tokio::sync::Mutex::new(client),
                        current: Mutex::new((0, None)),
                    }),
                };
                conn.discover(0).await.map_err(redis_err)?;
                Ok(Conn::Sentinel(conn))
            }
        }
    }
}

/// `user:password@` (or empty), the hosts with a port each, and the path
/// after the first `/`.
fn split_hosts(rest: &str, default_port: u16) -> Result<(String, Vec<String>, String), String> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (auth, hosts) = match authority.rsplit_once('@') {
        Some((auth, hosts)) => (format!("{auth}@"), hosts),
        None => (String::new(), authority),
    };
    let hosts: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            let has_port = match h.rsplit_once(':') {
                Some((host, port)) => {
                    port.chars().all(|c| c.is_ascii_digit())
                        && !port.is_empty()
                        && (!host.starts_with('[') || host.ends_with(']'))
                }
                None => false,
            };
            if has_port {
                h.to_owned()
            } else {
                format!("{h}:{default_port}")
            }
        })
        .collect();
    if hosts.is_empty() {
        return Err("the URL names no host".into());
    }
    Ok((auth, hosts, path.to_owned()))
}

/// One multiplexed connection to whatever the deployment is: a
/// self-reconnecting connection to one server, a cluster connection that
/// follows slot moves, or a Sentinel-discovered primary rediscovered after
/// a failover. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub(crate) enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelConn),
}

impl Conn {
    /// Whether keys spread over a cluster's nodes (so a key scan must ask
    /// every primary).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => {
                Box::pin(c.run(move |mut conn| async move { conn.req_packed_command(cmd).await }))
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(c) => Box::pin(c.run(move |mut conn| async move {
                conn.req_packed_commands(pipeline, offset, count).await
            })),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(_) => 0,
        }
    }
}

/// The primary a Sentinel names, asked again when the connection breaks or
/// the server turned replica (`READONLY`) after a failover.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    inner: Arc<SentinelInner>,
}

struct SentinelInner {
    client: tokio::sync::Mutex<SentinelClient>,
    /// The current primary's connection and its generation (moved on by
    /// each discovery, so concurrent failures rediscover once).
    current: Mutex<(u64, Option<MultiplexedConnection>)>,
}

impl SentinelConn {
    fn current(&self) -> (u64, Option<MultiplexedConnection>) {
        let current = self.inner.current.lock().unwrap_or_else(|e| e.into_inner());
        (current.0, current.1.clone())
    }

    /// Asks the Sentinels for the primary and connects to it, unless a
    /// discovery newer than `seen` already did.
    async fn discover(&self, seen: u64) -> redis::RedisResult<(u64, MultiplexedConnection)> {
        let mut client = self.inner.client.lock().await;
        if let (generation, Some(conn)) = self.current() {
            if generation > seen {
                return Ok((generation, conn));
            }
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let conn = tokio::time::timeout(TIMEOUT, client.get_async_connection_with_config(&config))
            .await
            .map_err(|_| {
                redis::RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no Sentinel named the primary in time",
                ))
            })??;
        let mut current = self.inner.current.lock().unwrap_or_else(|e| e.into_inner());
        current.0 += 1;
        current.1 = Some(conn.clone());
        Ok((current.0, conn))
    }

    /// Forgets the connection of generation `generation`.
    fn forget(&self, generation: u64) {
        let mut current = self.inner.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.0 == generation {
            current.1 = None;
        }
    }

    /// Runs `call` on the primary. A refused connection or a `READONLY`
    /// answer (the server was demoted: the command did not run) sends it
    /// once more to the primary the Sentinels name now; any other broken
    /// connection fails the call (the command may have run) and the next
    /// call rediscovers.
    async fn run<T, F, Fut>(&self, call: F) -> redis::RedisResult<T>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let (generation, conn) = match self.current() {
            (generation, Some(conn)) => (generation, conn),
            (generation, None) => self.discover(generation).await?,
        };
        match call(conn).await {
            Err(e) if e.is_connection_refusal() || e.code() == Some("READONLY") => {
                self.forget(generation);
                let (_, conn) = self.discover(generation).await?;
                call(conn).await
            }
            Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() => {
                self.forget(generation);
                Err(e)
            }
            done => done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Deployment;

    #[test]
    fn the_scheme_picks_the_deployment() {
        // No Debug (it would print passwords): compared with `==`.
        assert!(
            Deployment::parse("redis://127.0.0.1:6379/2").unwrap()
                == Deployment::Standalone("redis://127.0.0.1:6379/2".into())
        );
        assert!(
            Deployment::parse("redis+cluster://:pw@10.0.0.1,10.0.0.2:7001").unwrap()
                == Deployment::Cluster(vec![
                    "redis://:pw@10.0.0.1:6379".into(),
                    "redis://:pw@10.0.0.2:7001".into()
                ])
        );
        assert!(
            Deployment::parse("redis+sentinel://u:pw@s1,[::1]:5000/mymaster/3").unwrap()
                == Deployment::Sentinel {
                    sentinels: vec!["redis://s1:26379".into(), "redis://[::1]:5000".into()],
                    service: "mymaster".into(),
                    primary: "redis://u:pw@primary/3".into(),
                }
        );
        for bad in [
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1/mymaster/x",
            "redis+sentinel://s1/m/1/2",
            "redis+cluster://",
            "redis+cluster://n1/0",
        ] {
            assert!(Deployment::parse(bad).is_err(), "{bad}");
        }
    }
}
