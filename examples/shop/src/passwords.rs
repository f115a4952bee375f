//! Password hashing (argon2id) on a small pool of dedicated threads, one per
//! core, each reusing one block of argon2 memory (~19 MiB with the default
//! parameters) for every hash it computes.
//!
//! Why a pool: an argon2 run holds its whole memory for tens of
//! milliseconds. Run on tokio's blocking pool (up to 512 threads), a burst
//! of registrations or wrong-password logins runs hundreds at once and
//! takes gigabytes, which the allocator keeps after the burst. Here at most
//! one hash per worker runs at a time, the memory is allocated once per
//! worker, and a request that cannot get a worker within
//! [`PasswordPool::wait`] is answered `503` with `Retry-After` instead of
//! queueing without bound.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use rand::RngExt;
use shop_core::account::Secrets;
use shop_core::{Error, Result, StoreError};
use tokio::sync::{oneshot, Semaphore};

/// How long a request waits for a free hashing worker before it is told to
/// retry.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);
/// What `Retry-After` says to a request that waited in vain, in seconds.
pub const RETRY_AFTER_SECS: u32 = 1;
/// The most argon2 memory a stored hash may ask for (64 MiB): a hash with
/// larger parameters does not verify rather than allocate without bound.
const MAX_BLOCKS: u32 = 64 * 1024;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Hashes and verifies passwords on `workers` dedicated threads. Cheap to
/// clone; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordPool {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    permits: Semaphore,
    wait: Duration,
    workers: usize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the workers' loops.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("workers", &self.inner.workers)
            .field("wait", &self.inner.wait)
            .finish()
    }
}

impl PasswordPool {
    /// One worker per available core.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PasswordPool::new(cores, DEFAULT_WAIT)
    }

    /// `workers` threads (at least one); a request waits at most `wait` for
    /// one of them.
    pub fn new(workers: usize, wait: Duration) -> Self {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..workers {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(&rx))
                .expect("spawning a password hashing thread");
        }
        PasswordPool {
            inner: Arc::new(Inner {
                jobs: Mutex::new(Some(tx)),
                permits: Semaphore::new(workers),
                wait,
                workers,
            }),
        }
    }

    /// How many hashes may run at once.
    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    /// How long a request waits for a worker.
    pub fn wait(&self) -> Duration {
        self.inner.wait
    }

    /// An argon2id PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move |memory| hash_into(memory, password.as_bytes()))
            .await?
            .map_err(internal)
    }

    /// Whether `password` matches the PHC string `hash` (false for a
    /// malformed hash).
    pub async fn verify(&self, password: String, hash: String) -> Result<bool> {
        self.run(move |memory| verify_with(memory, password.as_bytes(), &hash))
            .await
    }

    /// Spends the time of one verification, for a login whose e-mail
    /// address is unknown, so response times do not tell which addresses
    /// have accounts.
    pub async fn verify_nothing(&self, password: String) -> Result<()> {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = match DUMMY.get() {
            Some(hash) => hash.clone(),
            None => {
                let hash = self.hash("not anybody's password".to_owned()).await?;
                DUMMY.get_or_init(|| hash).clone()
            }
        };
        self.verify(password, dummy).await.map(|_| ())
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = tokio::time::timeout(self.inner.wait, self.inner.permits.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = tx.send(f(memory));
        });
        let sent = self
            .inner
            .jobs
            .lock()
            .ok()
            .and_then(|jobs| jobs.as_ref().map(|j| j.send(job).is_ok()))
            .unwrap_or(false);
        if !sent {
            return Err(busy());
        }
        rx.await.map_err(|_| internal("a password worker stopped"))
    }
}

/// A worker: takes jobs until the pool is dropped, reusing its memory.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

/// `memory` with at least `blocks` blocks.
fn reserve(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_into(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt[..]);
    let salt_b64 = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let blocks = reserve(memory, params.block_count());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon
            .hash_password_into_with_memory(password, &salt, out, &mut *blocks)
            .map_err(Into::into)
    })
    .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt_b64.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_BLOCKS {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let blocks = reserve(memory, params.block_count());
    let computed = Output::init_with(expected.len(), |out| {
        argon
            .hash_password_into_with_memory(password, salt, out, &mut *blocks)
            .map_err(Into::into)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|c| c == expected)
}

fn busy() -> Error {
    Error::Busy {
        retry_after_secs: RETRY_AFTER_SECS,
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Store(StoreError::Backend {
        source: format!("password hashing failed: {e}").into(),
    })
}

/// The example's [`Secrets`]: argon2id on this pool, SHA-256 token digests
/// ([`crate::security::token_digest`]).
#[async_trait]
impl Secrets for PasswordPool {
    async fn hash_password(&self, password: String) -> Result<String> {
        self.hash(password).await
    }

    async fn verify_password(&self, password: String, hash: String) -> Result<bool> {
        self.verify(password, hash).await
    }

    async fn verify_no_password(&self, password: String) -> Result<()> {
        self.verify_nothing(password).await
    }

    fn token_digest(&self, token: &str) -> String {
        crate::security::token_digest(token)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_match_the_argon2_crate() {
        let pool = PasswordPool::new(2, DEFAULT_WAIT);
        let hash = pool.hash("correct horse".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(pool
            .verify("correct horse".to_owned(), hash.clone())
            .await
            .unwrap());
        assert!(!pool
            .verify("wrong horse".to_owned(), hash.clone())
            .await
            .unwrap());
        assert!(!pool
            .verify("x".to_owned(), "not a hash".to_owned())
            .await
            .unwrap());
        // The argon2 crate's own verifier agrees, both ways.
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(pool
            .verify("battery staple".to_owned(), theirs)
            .await
            .unwrap());
        pool.verify_nothing("anything".to_owned()).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_workers_run_at_once() {
        let pool = PasswordPool::new(2, Duration::from_secs(30));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let pool = pool.clone();
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} ran at once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_request_that_finds_no_worker_in_time_gets_503_with_retry_after() {
        let pool = PasswordPool::new(1, Duration::from_millis(100));
        // Hold the only worker until told.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move |_| held.recv().is_ok()).await })
        };
        while pool.inner.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..3 {
            let e = crate::error::AppError::from(pool.hash("pw".to_owned()).await.unwrap_err());
            assert_eq!(e.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(e.code, "busy");
            assert_eq!(e.retry_after, Some(u64::from(RETRY_AFTER_SECS)));
        }
        release.send(()).unwrap();
        assert!(holder.await.unwrap().unwrap());
        // Free again: hashing works.
        pool.hash("pw".to_owned()).await.unwrap();
    }
}
