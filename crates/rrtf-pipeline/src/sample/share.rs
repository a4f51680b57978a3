//! Samplers sharing one database (issue 22): any number of `rrtf sample` processes pointed at
//! one database send each request once between them. Before sending, a sampler claims a
//! window of its planned requests with a lease on the database's clock
//! (`Store::claim_requests`; renewed every third of the lease while it works, released when it
//! stops): what another sampler holds live is skipped, and looked at again once the rest is
//! done, when it is either stored (dropped) or, its sampler having died, claimable (sent
//! here). An answer is stored once by its key whatever happens; the claims only keep two
//! samplers from sending, and paying for, the same request.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rrtf_llm::sampler::{self, Job, Lane, LaneReport, Sink, SinkError, Stopped};
use rrtf_llm::{Budget, Ledger};
use rrtf_store::Store;

/// Where and how long: the sampler's name (host:pid:nonce) and its lease.
pub struct Claimant {
    pub name: String,
    pub lease: Duration,
}

impl Claimant {
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}

/// What `sampler::run` takes besides its jobs.
pub struct Sending<'a> {
    pub lanes: &'a [Lane],
    pub budget: Arc<Budget>,
    pub ledger: Arc<Ledger>,
    pub stop: Arc<AtomicBool>,
    pub progress: &'a (dyn Fn(u64) + Sync),
}

fn boxed(e: rrtf_store::StoreError) -> SinkError {
    Box::new(e)
}

/// Send `jobs` as [`sampler::run`] does, claiming them window by window as `me`; the lanes'
/// reports over every window.
pub async fn run(
    store: &Store,
    me: &Claimant,
    jobs: Vec<Job>,
    s: &Sending<'_>,
    sink: &mut dyn Sink,
) -> Result<BTreeMap<String, LaneReport>, SinkError> {
    let heartbeat = {
        let (store, name, lease, lease_ms) =
            (store.clone(), me.name.clone(), me.lease, me.lease_ms());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                if let Err(e) = store.renew_request_claims(&name, lease_ms).await {
                    tracing::warn!("renewing the request leases of {name}: {e}");
                }
            }
        })
    };
    let result = claimed(store, me, jobs, s, sink).await;
    heartbeat.abort();
    let released = store.release_request_claims(&me.name).await;
    let reports = result?;
    released.map_err(boxed)?;
    Ok(reports)
}

/// Add `r` to `into` (counts summed; the first stop and the first error kept).
fn merge(into: &mut LaneReport, r: LaneReport) {
    into.sent += r.sent;
    into.stored += r.stored;
    into.failed += r.failed;
    into.unsent += r.unsent;
    if into.stopped.is_none() {
        into.stopped = r.stopped;
    }
    if into.first_error.is_none() {
        into.first_error = r.first_error;
    }
}

async fn claimed(
    store: &Store,
    me: &Claimant,
    jobs: Vec<Job>,
    s: &Sending<'_>,
    sink: &mut dyn Sink,
) -> Result<BTreeMap<String, LaneReport>, SinkError> {
    let mut reports: BTreeMap<String, LaneReport> = s
        .lanes
        .iter()
        .map(|l| (l.name.clone(), LaneReport::default()))
        .collect();
    // A window keeps every lane busy for a while: 16 requests per concurrent slot.
    let window = (s.lanes.iter().map(|l| l.concurrency).sum::<usize>() * 16).max(64);
    let mut untried: VecDeque<Job> = jobs.into();
    // Jobs another sampler held live at the last look.
    let mut theirs: Vec<Job> = Vec::new();
    let mut waiting = false;
    loop {
        // Lanes stopped for good (budget, a rejection every request would get) send no more.
        let dead: Vec<bool> = s
            .lanes
            .iter()
            .map(|l| {
                matches!(
                    reports[&l.name].stopped,
                    Some(Stopped::Budget | Stopped::Endpoint(_))
                )
            })
            .collect();
        let stopping = s.stop.load(Ordering::Relaxed);
        // The next window of requests never tried here; once none is left, those other
        // samplers held (`again`).
        let (next, again): (Vec<Job>, bool) = if !untried.is_empty() {
            let n = window.min(untried.len());
            (untried.drain(..n).collect(), false)
        } else if !theirs.is_empty() {
            (std::mem::take(&mut theirs), true)
        } else {
            break;
        };
        let (live, gone): (Vec<Job>, Vec<Job>) = next
            .into_iter()
            .partition(|j| !dead[j.endpoint] && !stopping);
        for j in &gone {
            let r = reports.get_mut(&s.lanes[j.endpoint].name).expect("a lane");
            r.unsent += 1;
            if stopping && r.stopped.is_none() {
                r.stopped = Some(Stopped::Interrupted);
            }
        }
        if live.is_empty() {
            continue;
        }
        let keys: Vec<&str> = live.iter().map(|j| j.key.as_str()).collect();
        let held = store
            .claim_requests(&keys, &me.name, me.lease_ms())
            .await
            .map_err(boxed)?;
        // Answered meanwhile by another sampler: done here (counted as progress), whoever holds
        // the claim. Checked after claiming: a sampler keeps its claims until it has stored
        // their answers, so a request claimed here is either answered by now or sent by no one.
        let stored = store.stored_among(&keys).await.map_err(boxed)?;
        if !stored.is_empty() {
            (s.progress)(stored.len() as u64);
        }
        let (mine, others): (Vec<Job>, Vec<Job>) = live
            .into_iter()
            .filter(|j| !stored.contains(&j.key))
            .partition(|j| held.contains(&j.key));
        theirs.extend(others);
        if mine.is_empty() {
            if again
                && !theirs.is_empty()
                && crate::exec_stage::expire_dead_local_claims(store)
                    .await
                    .map_err(|e| -> SinkError { Box::new(e) })?
                    > 0
            {
                continue;
            }
            if again && !theirs.is_empty() {
                // Only other samplers' live claims are left: wait for their answers, or for
                // their leases to run out.
                if !waiting {
                    tracing::warn!(
                        "{} requests are claimed by other samplers: waiting for them (`rrtf \
                         status` lists the samplers and their leases)",
                        theirs.len()
                    );
                    waiting = true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            continue;
        }
        waiting = false;
        let got = sampler::run(
            s.lanes,
            mine,
            s.budget.clone(),
            s.ledger.clone(),
            s.stop.clone(),
            sink,
            s.progress,
        )
        .await?;
        for (name, r) in got {
            merge(reports.entry(name).or_default(), r);
        }
    }
    Ok(reports)
}
