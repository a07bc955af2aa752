//! What the fuzz targets share: the request budget, an allocator that treats any single
//! allocation over the budget as a crash, a seeded server (the demo street, households and
//! confidential documents) to run whole sync exchanges against, and seed inputs made from
//! real requests. See docs/fuzzing.md for how the targets are run.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    collections::BTreeMap,
    io::Write,
    path::Path,
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
};

use voordeur_server::{
    cache::DocCache,
    exchange::{self, Caller},
    store::memory::MemoryStore,
};
use voordeur_shared::{
    access::{Grant, Role},
    automerge::{ActorId, AutoCommit},
    demo,
    docs::{DocKind, DocumentId},
    ids::AccountId,
    model::{Outcome, Partner, SignalKind, Street, Theme},
    record::VisitRecord,
    sync::{
        SyncRequest, SyncResponse,
        client::Replica,
        wire::{self, Compression},
    },
};

/// The inflation budget of one request in the fuzz runs: the server's for a 1 MiB body
/// limit (8 MiB), as in the server's tests.
pub const BUDGET: usize = 8 << 20;

/// The largest single allocation a run may make: the budget, doubled (a `Vec` grows by
/// doubling), with headroom. Anything larger is a crash (see [`Capped`]).
pub const ALLOCATION_LIMIT: usize = 3 * BUDGET;

/// The system allocator, aborting on any single allocation over [`ALLOCATION_LIMIT`]
/// once the target has started fuzzing (see [`start`]; making seeds encodes with
/// Brotli, whose encoder takes 32 MiB of tables, whatever it encodes): libFuzzer then
/// reports the input as a crash, whatever sanitizer (or none) is in use.
#[derive(Debug)]
pub struct Capped;

static ENFORCING: AtomicBool = AtomicBool::new(false);

fn over(size: usize) -> bool {
    size > ALLOCATION_LIMIT && ENFORCING.load(Ordering::Relaxed)
}

fn over_the_limit() -> ! {
    // No formatting: that could allocate.
    let _ = std::io::stderr().write_all(b"==voordeur-fuzz== allocation over the request budget\n");
    std::process::abort()
}

// SAFETY: every call is passed on to the system allocator unchanged; the only addition is
// aborting before an over-sized allocation.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if over(layout.size()) {
            over_the_limit();
        }
        // SAFETY: as the caller's contract for `GlobalAlloc::alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if over(layout.size()) {
            over_the_limit();
        }
        // SAFETY: as the caller's contract for `GlobalAlloc::alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller's contract for `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if over(new_size) {
            over_the_limit();
        }
        // SAFETY: as the caller's contract for `GlobalAlloc::realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A seeded server and the people who sync with it.
#[derive(Debug)]
pub struct World {
    runtime: tokio::runtime::Runtime,
    /// Every run starts from a clone of this store.
    store: MemoryStore,
    /// The store's documents, parsed.
    docs: BTreeMap<DocumentId, AutoCommit>,
    /// The server's cache, shared by the runs as a running server's is by its syncs: an
    /// entry is used only at the heads the run's store holds, so it changes how fast a run
    /// is, never what it does.
    cache: DocCache,
    actor: ActorId,
    /// Who may sync: one of each role (a run picks one by its first byte).
    pub callers: Vec<Caller>,
    /// Real requests of those people (caller index, request), for the seed corpora.
    pub seeds: Vec<(u8, SyncRequest)>,
    /// Real responses, for the wire decoder's seeds.
    pub responses: Vec<SyncResponse>,
}

fn caller(role: Role, partner: Option<Partner>) -> Caller {
    Caller {
        account: AccountId(uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{role:?}/{partner:?}").as_bytes(),
        )),
        grant: Grant {
            role,
            partner,
            streets: [demo::street_id()].into(),
        },
    }
}

fn visit(replica: &mut Replica, door: usize, signals: Vec<(SignalKind, String)>) {
    let street: Street =
        voordeur_shared::docs::read(&replica.get(&street_kind().id()).expect("street").doc)
            .expect("street reads");
    let address = street
        .addresses
        .keys()
        .nth(door)
        .expect("address")
        .parse()
        .expect("uuid");
    VisitRecord {
        street: demo::street_id(),
        address,
        author: "Sanne de Vries".into(),
        at_ms: 1_764_000_000_000 + door as i64,
        outcome: Outcome::Talked,
        return_on: None,
        notes: "Wil graag meer groen voor de deur.".into(),
        contribution: "Helpt bij een plantdag".into(),
        wishes: vec![(Theme::Greenery, "Plantenbakken".into())],
        signals,
    }
    .record(replica)
    .expect("visit records");
}

fn street_kind() -> DocKind {
    DocKind::Street { street: demo::street_id(), epoch: 0 }
}

impl World {
    fn build() -> World {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let actor = ActorId::from(&[0x5e; 16][..]);
        // Compaction after 32 chunks, as the server's store.
        let store = MemoryStore::new(32);
        let (kind, mut street) = demo::street(actor.clone()).expect("demo street");
        store.create(kind, &mut street);
        let callers = vec![
            caller(Role::CommunityBuilder, Some(Partner::Municipality)),
            caller(Role::Coach, Some(Partner::CareOrganisation)),
            caller(Role::Coordinator, Some(Partner::CareOrganisation)),
            caller(Role::Coordinator, Some(Partner::Corporation)),
            caller(Role::Coordinator, Some(Partner::Municipality)),
            caller(Role::Administrator, None),
        ];
        let mut world = World {
            runtime,
            store,
            docs: BTreeMap::new(),
            cache: DocCache::new(16 << 20),
            actor,
            callers,
            seeds: Vec::new(),
            responses: Vec::new(),
        };
        // A coach's phone: fetches the street, records visits with signals for the care
        // organisation and the corporation (households and confidential documents).
        let mut coach = Replica::new(ActorId::from(&[0xc0; 16][..]));
        coach.follow(demo::street_id());
        world.sync(1, &mut coach);
        visit(
            &mut coach,
            3,
            vec![(SignalKind::CareNeed, "Hulp bij post".into())],
        );
        visit(
            &mut coach,
            7,
            vec![(SignalKind::MovingWish, "Wil kleiner wonen".into())],
        );
        visit(&mut coach, 12, vec![]);
        world.sync(1, &mut coach);
        // The builder's phone, with work of its own; a coordinator who only reads.
        let mut builder = Replica::new(ActorId::from(&[0xb0; 16][..]));
        builder.follow(demo::street_id());
        world.sync(0, &mut builder);
        visit(
            &mut builder,
            3,
            vec![(SignalKind::CareNeed, "Valt vaak".into())],
        );
        visit(&mut builder, 20, vec![]);
        world.sync(0, &mut builder);
        let mut coordinator = Replica::new(ActorId::from(&[0xd0; 16][..]));
        coordinator.follow(demo::street_id());
        world.sync(3, &mut coordinator);
        // More work offered but not synced: requests that write, as seeds.
        visit(
            &mut coach,
            25,
            vec![(SignalKind::CareNeed, "Eenzaam".into())],
        );
        world.seeds.push((1, coach.request()));
        visit(&mut builder, 30, vec![]);
        world.seeds.push((0, builder.request()));
        world.seeds.push((3, coordinator.request()));
        let mut fresh = Replica::new(ActorId::from(&[0xf0; 16][..]));
        fresh.follow(demo::street_id());
        world.seeds.push((4, fresh.request()));
        // The store's documents, parsed, for the runs' caches.
        for id in world.store.kinds().keys() {
            let doc = world.store.document(id).expect("stored").expect("parses");
            world.cache.put(*id, doc.clone());
            world.docs.insert(*id, doc);
        }
        world
    }

    /// One round trip of `replica` as caller `who`, kept (seeds and the store).
    fn sync(&mut self, who: u8, replica: &mut Replica) {
        let request = replica.request();
        self.seeds.push((who, request.clone()));
        let cache = DocCache::new(16 << 20);
        let synced = self
            .runtime
            .block_on(exchange::run(
                &self.store,
                &cache,
                &self.actor,
                &self.callers[usize::from(who)],
                request,
            ))
            .expect("a seeding sync succeeds");
        self.responses.push(synced.response.clone());
        replica.receive(synced.response);
    }

    /// Runs one exchange of `request` as caller `who` (any byte) against a fresh copy of
    /// the seeded store; checks what a committed sync must hold.
    pub fn exchange(&self, who: u8, request: SyncRequest) {
        let caller = &self.callers[usize::from(who) % self.callers.len()];
        let store = self.store.clone();
        let result = self.runtime.block_on(exchange::run(
            &store,
            &self.cache,
            &self.actor,
            caller,
            request,
        ));
        let Ok(synced) = result else {
            // Refused (or contended): nothing was written.
            assert_eq!(store.heads(), self.store.heads(), "a refused sync wrote");
            return;
        };
        // The answer goes out on the wire and reads back.
        let bytes = wire::encode_response_as(&synced.response, Compression::Deflate);
        wire::decode_response(&bytes, usize::MAX).expect("the response reads back");
        // Every document written still loads, with no change of one actor twice.
        if synced.written > 0 {
            let before = self.store.heads();
            let after = store.heads();
            let written = after
                .iter()
                .filter(|(id, heads)| before.get(*id) != Some(*heads));
            for (id, _) in written {
                let mut doc = store.document(id).expect("stored").expect("loads");
                let mut seen = std::collections::BTreeSet::new();
                for change in doc.get_changes(&[]) {
                    assert!(
                        seen.insert((change.actor_id().clone(), change.seq())),
                        "document {id} holds two changes {} of one actor",
                        change.seq()
                    );
                }
            }
        }
    }

    /// The seeded street document.
    pub fn street(&self) -> &AutoCommit {
        &self.docs[&street_kind().id()]
    }
}

/// The seeded world, built once per process.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::build)
}

/// The header of a DEFLATE-compressed request, as this build writes it.
fn request_header() -> [u8; 5] {
    let bytes = wire::encode_request_as(&SyncRequest::default(), Compression::Deflate);
    [bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]]
}

/// A request on the wire whose body is `plain` (postcard bytes), compressed as the field
/// app compresses: the fuzzer mutates the request's structure, not its DEFLATE stream.
pub fn wire_request(plain: &[u8]) -> Vec<u8> {
    let mut out = request_header().to_vec();
    let mut encoder = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    encoder.write_all(plain).expect("writing to a Vec");
    out = encoder.finish().expect("writing to a Vec");
    out
}

/// Which fuzz target seeds are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Wire,
    Changes,
    Exchange,
}

/// Writes the seed corpus of `target` into `dir`, from the real requests (and responses)
/// of the seeded world: for `Wire`, whole messages in both compressions; for `Changes`,
/// the change bytes of every offer and reply (single changes, bundles, saved documents);
/// for `Exchange`, a caller byte and the request's postcard bytes.
pub fn write_seeds(target: Target, dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let world = world();
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for (who, request) in &world.seeds {
        match target {
            Target::Wire => {
                seeds.push(wire::encode_request_as(request, Compression::Deflate));
                seeds.push(wire::encode_request_as(request, Compression::Brotli));
            }
            Target::Changes => seeds.extend(
                request
                    .docs
                    .iter()
                    .filter(|o| !o.changes.is_empty())
                    .map(|o| o.changes.clone()),
            ),
            Target::Exchange => {
                let mut seed = vec![*who];
                seed.extend(postcard::to_allocvec(request).expect("serializes"));
                seeds.push(seed);
            }
        }
    }
    for response in &world.responses {
        match target {
            Target::Wire => {
                seeds.push(wire::encode_response_as(response, Compression::Deflate));
            }
            Target::Changes => seeds.extend(
                response
                    .docs
                    .iter()
                    .filter(|r| !r.changes.is_empty() && r.changes.len() < 64 * 1024)
                    .map(|r| r.changes.clone()),
            ),
            Target::Exchange => {}
        }
    }
    if target == Target::Changes {
        // A saved document (its long columns DEFLATE-compressed), and a compressed change
        // chunk (type 2): no client sends them, but Automerge reads them.
        let mut doc = world.street().clone();
        seeds.push(doc.save());
        if let Some(change) = doc.get_changes(&[]).last() {
            seeds.push(compressed(change.raw_bytes()));
        }
    }
    seeds.sort();
    seeds.dedup();
    for seed in &seeds {
        let name = format!("seed-{:016x}", fnv1a(seed));
        std::fs::write(dir.join(name), seed)?;
    }
    Ok(seeds.len())
}

/// The compressed chunk (type 2) of an uncompressed change chunk: the same header, its
/// body DEFLATE-compressed.
fn compressed(change: &[u8]) -> Vec<u8> {
    let mut len_size = 1;
    while change[8 + len_size] & 0x80 != 0 {
        len_size += 1;
    }
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(&change[9 + len_size..])
        .expect("writing to a Vec");
    let body = encoder.finish().expect("writing to a Vec");
    let mut chunk = change[..8].to_vec();
    chunk.push(2);
    let mut n = body.len() as u64;
    while n >= 0x80 {
        chunk.push((n as u8) | 0x80);
        n >>= 7;
    }
    chunk.push(n as u8);
    chunk.extend_from_slice(&body);
    chunk
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Builds the seeded world and writes the seeds of `target` if `VOORDEUR_FUZZ_SEEDS` names
/// a directory (each target calls this when it starts: libFuzzer reads its corpus
/// directories after that); from then on, an allocation over the budget is a crash.
pub fn start(target: Target) {
    world();
    if let Some(dir) = std::env::var_os("VOORDEUR_FUZZ_SEEDS") {
        let written = write_seeds(target, Path::new(&dir)).expect("seeds are written");
        eprintln!("voordeur-fuzz: {written} seeds written for {target:?}");
    }
    ENFORCING.store(true, Ordering::Relaxed);
    // libFuzzer's panic hook aborts at every panic, also one the code under test catches
    // on purpose: Automerge panics on some damaged input, and the server catches that
    // (`chunks::isolated`, the exchange's worker) and refuses the input as damaged. This
    // hook names the panic in one line (no backtrace: the fuzzer meets these often); one
    // that is not caught still ends the run as a crash, for libfuzzer-sys aborts when the
    // input's call unwinds, and the input is saved.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("voordeur-fuzz: panic (a crash only if nothing catches it): {info}");
    }));
}
