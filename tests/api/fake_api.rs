//! A local HTTP server standing in for a SaaS API: each request goes to a handler that sees
//! the path, query, headers and how many times that path was asked for.
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

pub struct Request {
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    /// 1 for the first request to this path (query ignored), 2 for the second, …
    pub nth: usize,
}

pub struct Response {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
    pub delay: Duration,
    /// Sent as `Location` (with a 3xx status, a redirect).
    pub location: Option<String>,
}

impl Response {
    pub fn json(body: serde_json::Value) -> Self {
        Self {
            status: 200,
            body: body.to_string(),
            retry_after: None,
            delay: Duration::ZERO,
            location: None,
        }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: "{\"error\":\"scripted\"}".into(),
            retry_after: None,
            delay: Duration::ZERO,
            location: None,
        }
    }

    pub fn redirect(to: &str) -> Self {
        Self {
            location: Some(to.to_owned()),
            ..Self::status(302)
        }
    }

    pub fn raw(body: &str) -> Self {
        Self {
            status: 200,
            body: body.into(),
            retry_after: None,
            delay: Duration::ZERO,
            location: None,
        }
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

#[derive(Clone)]
struct Shared {
    handler: Handler,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    log: Arc<Mutex<Vec<(String, Instant)>>>,
    /// Requests being answered now, and the most there were at once.
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

pub struct FakeApi {
    pub url: String,
    log: Arc<Mutex<Vec<(String, Instant)>>>,
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

impl FakeApi {
    pub async fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        let shared = Shared {
            handler: Arc::new(handler),
            counts: Arc::default(),
            log: Arc::default(),
            in_flight: Arc::default(),
        };
        let (log, in_flight) = (shared.log.clone(), shared.in_flight.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shared.clone()))
                .default_service(web::to(serve))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            log,
            in_flight,
        }
    }

    /// Requests so far, by path (with query), in order.
    pub fn hits(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The most requests that were being answered at the same time.
    pub fn most_at_once(&self) -> usize {
        self.in_flight.1.load(Ordering::SeqCst)
    }

    pub fn times(&self) -> Vec<Instant> {
        self.log.lock().unwrap().iter().map(|(_, t)| *t).collect()
    }
}

async fn serve(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_owned();
    let nth = {
        let mut counts = shared.counts.lock().unwrap();
        let n = counts.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    shared
        .log
        .lock()
        .unwrap()
        .push((req.uri().to_string(), Instant::now()));
    let query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let response = (shared.handler)(&Request {
        path,
        query,
        headers,
        nth,
    });
    let now = shared.in_flight.0.fetch_add(1, Ordering::SeqCst) + 1;
    shared.in_flight.1.fetch_max(now, Ordering::SeqCst);
    if !response.delay.is_zero() {
        tokio::time::sleep(response.delay).await;
    }
    shared.in_flight.0.fetch_sub(1, Ordering::SeqCst);
    let mut out =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(response.status).unwrap());
    if let Some(s) = response.retry_after {
        out.insert_header(("retry-after", s.to_string()));
    }
    if let Some(to) = response.location {
        out.insert_header(("location", to));
    }
    out.content_type("application/json").body(response.body)
}
