//! Sign-in's throttle (`voordeur_server::throttle`): guessing gets slower, and no one
//! can lock another person out, from another address or on a device that signed in
//! before; the client's address comes from a forwarded header only behind a trusted
//! proxy; the counts are in the database.

use std::time::Duration;

use serde_json::{Value, json};
use voordeur_server::Config;
use voordeur_shared::demo;

use crate::helpers::{Backend, TestApp, TestDb, config, spawn_app, spawn_app_with};

const WRONG: &str = "not-the-password";

/// A sign-in attempt, with the headers a proxy or a browser would add.
#[derive(Default)]
struct Attempt<'a> {
    forwarded_for: Option<&'a str>,
    forwarded: Option<&'a str>,
    proto: Option<&'a str>,
    cookie: Option<&'a str>,
}

/// What the server answered: status, `Retry-After`, the error code, the device cookie.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    error: String,
    set_cookie: Option<String>,
}

impl Answer {
    /// `name=value` of the device cookie, as a browser sends it back.
    fn cookie(&self) -> String {
        let set = self.set_cookie.as_deref().expect("a device cookie");
        set.split(';').next().unwrap().to_string()
    }
}

async fn sign_in(app: &TestApp, username: &str, password: &str, how: &Attempt<'_>) -> Answer {
    let mut request = app
        .http
        .post(app.url("/api/session"))
        .json(&json!({ "username": username, "password": password }));
    for (name, value) in [
        ("x-forwarded-for", how.forwarded_for),
        ("forwarded", how.forwarded),
        ("x-forwarded-proto", how.proto),
        ("cookie", how.cookie),
    ] {
        if let Some(value) = value {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let retry_after = header("retry-after").map(|v| v.parse().unwrap());
    let set_cookie = header("set-cookie");
    let body: Value = response.json().await.expect("a JSON body");
    Answer {
        status,
        retry_after,
        error: body["error"].as_str().unwrap_or_default().to_string(),
        set_cookie,
    }
}

/// Wrong passwords from `how` until the server throttles them; the 429.
async fn guess_until_throttled(app: &TestApp, username: &str, how: &Attempt<'_>) -> Answer {
    for _ in 0..10 {
        let answer = sign_in(app, username, WRONG, how).await;
        if answer.status == 429 {
            return answer;
        }
        assert_eq!(
            (answer.status, answer.error.as_str()),
            (401, "wrong_credentials")
        );
    }
    panic!("ten wrong passwords in a row were never slowed");
}

fn behind_proxy(db: &TestDb) -> Config {
    Config {
        trusted_proxies: vec![voordeur_server::client::parse_trusted_proxy("127.0.0.1").unwrap()],
        ..config(db)
    }
}

fn from(address: &str) -> Attempt<'_> {
    Attempt {
        forwarded_for: Some(address),
        ..Attempt::default()
    }
}

/// An attacker guessing Sanne's password from one address is slowed there; Sanne, from
/// another address, signs in at once; so does anyone else from the attacker's address.
async fn wrong_passwords_from_one_address_do_not_stop_the_right_one_from_another(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app_with(behind_proxy(&db)).await;
    let attacker = from("203.0.113.66");
    let throttled = guess_until_throttled(&app, "sanne", &attacker).await;
    assert_eq!(throttled.error, "too_many_attempts");
    assert!(throttled.retry_after.is_some_and(|s| s >= 1));
    assert_eq!(
        sign_in(&app, "sanne", demo::PASSWORD, &attacker)
            .await
            .status,
        429,
        "the guesser's address waits, even with the right password"
    );
    let sanne = sign_in(&app, "sanne", demo::PASSWORD, &from("198.51.100.7")).await;
    assert_eq!(sanne.status, 201, "{sanne:?}");
    let karim = sign_in(&app, "karim", demo::PASSWORD, &attacker).await;
    assert_eq!(karim.status, 201, "other people from that address go on");
    // The forwarded header names the client also in RFC 7239's form.
    let forwarded = Attempt {
        forwarded: Some("for=\"[2001:db8::7]:4711\";proto=https"),
        ..Attempt::default()
    };
    let sanne = sign_in(&app, "sanne", demo::PASSWORD, &forwarded).await;
    assert_eq!(sanne.status, 201, "{sanne:?}");
    assert!(
        sanne.set_cookie.unwrap().contains("; Secure"),
        "the proxy says the client came over https"
    );
}

/// A device that signed in before keeps working while someone guesses from the very same
/// address; its cookie helps only the account it signed in as; its own wrong passwords
/// slow it as any.
async fn a_device_that_signed_in_before_is_not_slowed_by_others(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let first = sign_in(&app, "sanne", demo::PASSWORD, &Attempt::default()).await;
    assert_eq!(first.status, 201);
    let set_cookie = first.set_cookie.clone().expect("a device cookie");
    for part in [
        "voordeur_device=",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP: no proxy says https"
    );
    let device = first.cookie();
    let with_cookie = Attempt {
        cookie: Some(&device),
        ..Attempt::default()
    };

    // Someone guesses Sanne's and Karim's passwords from the same address, without the cookie.
    guess_until_throttled(&app, "sanne", &Attempt::default()).await;
    guess_until_throttled(&app, "karim", &Attempt::default()).await;
    let again = sign_in(&app, "sanne", demo::PASSWORD, &with_cookie).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(again.cookie(), device, "the device keeps its token");
    assert_eq!(
        sign_in(&app, "karim", demo::PASSWORD, &with_cookie)
            .await
            .status,
        429,
        "Sanne's device is no one else's"
    );
    let forged = Attempt {
        cookie: Some("voordeur_device=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ..Attempt::default()
    };
    assert_eq!(
        sign_in(&app, "sanne", demo::PASSWORD, &forged).await.status,
        429,
        "a token the server never issued is no device"
    );

    // The device's own wrong passwords slow it.
    let throttled = guess_until_throttled(&app, "sanne", &with_cookie).await;
    assert_eq!(throttled.error, "too_many_attempts");
}

/// Wrong passwords from one address wait 1 s, then 2 s, then 4 s before the next; the
/// counts are in the database: a second server on it (a restart, or a second instance on
/// one PostgreSQL) goes on where the first left off.
async fn guessing_gets_slower_and_the_count_survives_a_restart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let here = Attempt::default();
    let mut waits = Vec::new();
    let first = guess_until_throttled(&app, "sanne", &here).await;
    waits.push(first.retry_after.unwrap());
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(waits.last().unwrap() * 1000 + 100)).await;
        assert_eq!(sign_in(&app, "sanne", WRONG, &here).await.status, 401);
        let throttled = sign_in(&app, "sanne", WRONG, &here).await;
        assert_eq!(
            (throttled.status, throttled.error.as_str()),
            (429, "too_many_attempts")
        );
        waits.push(throttled.retry_after.unwrap());
    }
    assert_eq!(waits, [1, 2, 4], "each wrong password doubles the wait");

    let second = spawn_app(&db).await;
    drop(app);
    let throttled = sign_in(&second, "sanne", demo::PASSWORD, &here).await;
    assert_eq!(throttled.status, 429, "{throttled:?}");
    assert!(throttled.retry_after.is_some_and(|s| (1..=4).contains(&s)));
}

/// Without `--trusted-proxy`, a forwarded header is anyone's word and is ignored: a
/// guesser who writes a new address into every request is still one address.
async fn without_a_trusted_proxy_the_forwarded_header_is_ignored(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut throttled = None;
    for i in 0..10 {
        let address = format!("203.0.113.{i}");
        let answer = sign_in(&app, "sanne", WRONG, &from(&address)).await;
        if answer.status == 429 {
            throttled = Some(answer);
            break;
        }
    }
    assert!(throttled.is_some(), "the addresses were not believed");
    assert_eq!(
        sign_in(&app, "sanne", demo::PASSWORD, &from("198.51.100.7"))
            .await
            .status,
        429,
        "nor is another one for the right password"
    );
    let forwarded = Attempt {
        forwarded: Some("for=198.51.100.8;proto=https"),
        ..Attempt::default()
    };
    assert_eq!(
        sign_in(&app, "sanne", demo::PASSWORD, &forwarded)
            .await
            .status,
        429
    );
}

/// A guesser with many addresses is slowed by the username's looser count: a person on
/// a new device waits a moment (never locked out), one on a device that signed in before
/// not at all.
async fn many_addresses_only_slow_a_username_on_unknown_devices(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app_with(behind_proxy(&db)).await;
    let first = sign_in(&app, "sanne", demo::PASSWORD, &from("198.51.100.1")).await;
    assert_eq!(first.status, 201);
    let device = first.cookie();
    let mut slowed = None;
    for i in 0..20 {
        let address = format!("203.0.113.{i}");
        let answer = sign_in(&app, "sanne", WRONG, &from(&address)).await;
        if answer.status == 429 {
            slowed = Some((i, answer));
            break;
        }
        assert_eq!(answer.status, 401);
    }
    let (guesses, slowed) = slowed.expect("a new address per guess is slowed too");
    assert!(guesses >= 10, "after the free attempts only ({guesses})");
    assert!(slowed.retry_after.is_some_and(|s| s <= 60), "{slowed:?}");

    let known = Attempt {
        forwarded_for: Some("203.0.113.200"),
        cookie: Some(&device),
        ..Attempt::default()
    };
    assert_eq!(
        sign_in(&app, "sanne", demo::PASSWORD, &known).await.status,
        201,
        "the known device is not slowed"
    );
    let new_device = from("192.0.2.44");
    let mut answer = sign_in(&app, "sanne", demo::PASSWORD, &new_device).await;
    let mut waited = 0;
    while answer.status == 429 {
        let wait = answer.retry_after.unwrap();
        assert!(wait <= 60);
        waited += wait;
        assert!(waited <= 60, "a new device waits, but not long");
        tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
        answer = sign_in(&app, "sanne", demo::PASSWORD, &new_device).await;
    }
    assert_eq!(answer.status, 201, "{answer:?}");
}

/// Twenty wrong passwords sent at once from one address: only the free three are
/// checked; the others wait like any guess after them (an attempt still being checked
/// counts as a failure for the next).
async fn parallel_guesses_gain_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = app
            .http
            .post(app.url("/api/session"))
            .json(&json!({ "username": "sanne", "password": WRONG }));
        guesses.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let statuses = guesses.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, throttled), (3, 17), "{statuses:?}");
}

crate::on_both_backends!(
    parallel_guesses_gain_nothing,
    wrong_passwords_from_one_address_do_not_stop_the_right_one_from_another,
    a_device_that_signed_in_before_is_not_slowed_by_others,
    guessing_gets_slower_and_the_count_survives_a_restart,
    without_a_trusted_proxy_the_forwarded_header_is_ignored,
    many_addresses_only_slow_a_username_on_unknown_devices,
);
