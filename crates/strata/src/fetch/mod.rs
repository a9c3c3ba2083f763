//! External data for data migrations: objects at `s3://bucket/key`, `file://` and `https://`
//! URLs, read as a stream (gzip by extension or content type) and parsed as JSON, NDJSON or CSV
//! with bounded memory.
//!
//! Errors name the object (never credentials) and, for a malformed record, its line or record
//! number and the field.

pub mod aws;

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::{ObjectStore, ObjectStoreExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Env;

/// What went wrong fetching or reading an object: a message that names it.
pub type FetchError = String;

/// An object's identity when it was read, recorded with the migration that read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// The URL.
    pub url: String,
    /// Its ETag, when the store gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Its version, when the store keeps versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Opens URLs; one per run of data migrations (AWS is set up on first use, stores are reused).
pub struct Fetcher {
    env: Env,
    aws: tokio::sync::OnceCell<Arc<aws::Aws>>,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    /// Objects downloaded before a migration's transaction opened: URL → (file, input).
    prefetched: Mutex<HashMap<String, (Arc<tempfile::NamedTempFile>, Input)>>,
    /// Every object read since [`Fetcher::take_inputs`] was last called.
    inputs: Mutex<Vec<Input>>,
}

/// An object being read: decompressed bytes, chunk by chunk.
pub struct Download {
    input: Input,
    stream: BoxStream<'static, Result<Bytes, FetchError>>,
    gunzip: Option<flate2::write::MultiGzDecoder<Vec<u8>>>,
    finished: bool,
    progress: Option<Progress>,
}

/// Objects smaller than this are read without progress reports.
const PROGRESS_FROM: u64 = 16 * 1024 * 1024;

/// How often progress is logged when standard error is not a terminal.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Progress of a long read: a bar with rate and ETA on a terminal, a log line every few
/// seconds elsewhere.
struct Progress {
    url: String,
    total: u64,
    done: u64,
    started: std::time::Instant,
    last_log: std::time::Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(url: &str, total: Option<u64>) -> Option<Progress> {
        let total = total.filter(|t| *t >= PROGRESS_FROM)?;
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .expect("a valid template"),
            );
            bar.set_message(url.to_owned());
            bar
        });
        let now = std::time::Instant::now();
        Some(Progress {
            url: url.to_owned(),
            total,
            done: 0,
            started: now,
            last_log: now,
            bar,
        })
    }

    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        match &self.bar {
            Some(bar) => bar.set_position(self.done),
            None if self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = std::time::Instant::now();
                eprintln!("strata: {}", self.line());
            }
            None => {}
        }
    }

    /// `s3://b/k: 45% (67 MiB of 150 MiB, 30.0 MiB/s, about 3 s left)`.
    fn line(&self) -> String {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / seconds;
        let left = (self.total.saturating_sub(self.done)) as f64 / rate.max(1.0);
        format!(
            "{}: {}% ({:.0} MiB of {:.0} MiB, {:.1} MiB/s, about {:.0} s left)",
            self.url,
            self.done * 100 / self.total.max(1),
            mib(self.done),
            mib(self.total),
            mib(rate as u64),
            left
        )
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Download {
    /// The object's URL, ETag and version.
    pub fn input(&self) -> &Input {
        &self.input
    }

    /// The next chunk of (decompressed) bytes; `None` at the end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, FetchError>> {
        loop {
            if self.finished {
                return None;
            }
            match self.stream.next().await {
                Some(Ok(bytes)) => {
                    if let Some(progress) = &mut self.progress {
                        progress.advance(bytes.len() as u64);
                    }
                    match &mut self.gunzip {
                        None => return Some(Ok(bytes)),
                        Some(decoder) => {
                            if let Err(e) = decoder.write_all(&bytes) {
                                self.finished = true;
                                return Some(Err(format!(
                                    "{}: not valid gzip: {e}",
                                    self.input.url
                                )));
                            }
                            let out = std::mem::take(decoder.get_mut());
                            if !out.is_empty() {
                                return Some(Ok(Bytes::from(out)));
                            }
                        }
                    }
                }
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(e));
                }
                None => {
                    self.finished = true;
                    if let Some(progress) = &mut self.progress {
                        progress.finish();
                    }
                    let decoder = self.gunzip.take()?;
                    return match decoder.finish() {
                        Ok(rest) if rest.is_empty() => None,
                        Ok(rest) => Some(Ok(Bytes::from(rest))),
                        Err(e) => Some(Err(format!("{}: truncated gzip: {e}", self.input.url))),
                    };
                }
            }
        }
    }

    /// Every remaining byte.
    pub async fn bytes(mut self) -> Result<Vec<u8>, FetchError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

impl Fetcher {
    /// A fetcher reading AWS settings from `env` (and the process environment).
    pub fn new(env: Env) -> Fetcher {
        Fetcher {
            env,
            aws: tokio::sync::OnceCell::new(),
            stores: Mutex::default(),
            prefetched: Mutex::default(),
            inputs: Mutex::default(),
        }
    }

    /// The AWS configuration, loaded on first use.
    pub async fn aws(&self) -> Arc<aws::Aws> {
        self.aws
            .get_or_init(|| async { Arc::new(aws::Aws::load(&self.env).await) })
            .await
            .clone()
    }

    /// Opens an object for reading.
    pub async fn open(&self, url: &str) -> Result<Download, FetchError> {
        let prefetched = self
            .prefetched
            .lock()
            .expect("prefetch poisoned")
            .get(url)
            .cloned();
        let (input, stream, content_gzip, size) = match prefetched {
            Some((file, input)) => {
                let size = file.as_file().metadata().ok().map(|m| m.len());
                (
                    input,
                    file_stream(file.path().to_path_buf(), url),
                    false,
                    size,
                )
            }
            None => self.open_remote(url).await?,
        };
        self.inputs
            .lock()
            .expect("inputs poisoned")
            .push(input.clone());
        let gzip = content_gzip || url.split('?').next().unwrap_or(url).ends_with(".gz");
        Ok(Download {
            input,
            stream,
            gunzip: gzip.then(|| flate2::write::MultiGzDecoder::new(Vec::new())),
            finished: false,
            progress: Progress::new(url, size),
        })
    }

    async fn open_remote(&self, url: &str) -> Result<Opened, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(format!("{url}: no such file"));
            }
            let input = Input {
                url: url.to_owned(),
                etag: None,
                version: None,
            };
            let size = std::fs::metadata(&path).ok().map(|m| m.len());
            return Ok((input, file_stream(path, url), false, size));
        }
        let (store, location) = self.store(url).await?;
        let result = store
            .get(&location)
            .await
            .map_err(|e| describe_store_error(url, &e))?;
        let content_gzip = result.attributes.iter().any(|(key, value)| {
            matches!(
                key,
                object_store::Attribute::ContentType | object_store::Attribute::ContentEncoding
            ) && value.as_ref().contains("gzip")
        });
        let input = Input {
            url: url.to_owned(),
            etag: result.meta.e_tag.clone(),
            version: result.meta.version.clone(),
        };
        let size = Some(result.meta.size);
        let owned_url = url.to_owned();
        let stream = result
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| describe_store_error(&owned_url, &e)))
            .boxed();
        Ok((input, stream, content_gzip, size))
    }

    /// The store for a URL and the object's path in it.
    async fn store(
        &self,
        url: &str,
    ) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path), FetchError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("{url}: not a URL; use s3://bucket/key, file:///path or https://host/path")
        })?;
        let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
        let location = object_store::path::Path::from(key);
        let store_key = format!("{scheme}://{authority}");
        if let Some(store) = self.stores.lock().expect("stores poisoned").get(&store_key) {
            return Ok((store.clone(), location));
        }
        let store: Arc<dyn ObjectStore> = match scheme {
            "s3" => {
                let aws = self.aws().await;
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(authority)
                    .with_region(aws.region())
                    .with_credentials(aws.object_store_credentials());
                if let Some(endpoint) = aws.endpoint() {
                    // An S3-compatible store: path-style requests to its endpoint.
                    builder = builder
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false);
                }
                Arc::new(
                    builder
                        .build()
                        .map_err(|e| format!("{url}: cannot set up S3: {e}"))?,
                )
            }
            "http" | "https" => Arc::new(
                object_store::http::HttpBuilder::new()
                    .with_url(&store_key)
                    .with_client_options(
                        object_store::ClientOptions::new().with_allow_http(scheme == "http"),
                    )
                    .build()
                    .map_err(|e| format!("{url}: cannot set up HTTP: {e}"))?,
            ),
            _ => {
                return Err(format!(
                    "{url}: unsupported scheme `{scheme}`; use s3://, file:// or https://"
                ));
            }
        };
        self.stores
            .lock()
            .expect("stores poisoned")
            .insert(store_key, store.clone());
        Ok((store, location))
    }

    /// Reads a whole object (gunzipped when it ends in `.gz` or says so).
    pub async fn bytes(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.open(url).await?.bytes().await
    }

    /// Reads a JSON object as `T` (`serde_json::Value` for untyped data).
    pub async fn json<T: DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let bytes = self.bytes(url).await?;
        json(url, &bytes)
    }

    /// Streams the records of an NDJSON object (one JSON value per line).
    pub async fn ndjson<T: DeserializeOwned>(&self, url: &str) -> Result<Records<T>, FetchError> {
        Ok(Records::ndjson(self.open(url).await?))
    }

    /// Streams the records of a CSV object with a header line.
    pub async fn csv<T: DeserializeOwned>(&self, url: &str) -> Result<Records<T>, FetchError> {
        Ok(Records::csv(self.open(url).await?))
    }

    /// Downloads `urls` into temporary files now, so that a migration's transaction does not
    /// wait on the network; later reads of the same URLs come from the files.
    pub async fn prefetch(&self, urls: &[String]) -> Result<(), FetchError> {
        for url in urls {
            if self
                .prefetched
                .lock()
                .expect("prefetch poisoned")
                .contains_key(url)
            {
                continue;
            }
            let (input, mut stream, _, size) = if url.starts_with("file://") {
                continue;
            } else {
                self.open_remote(url).await?
            };
            let mut file = tempfile::NamedTempFile::new()
                .map_err(|e| format!("{url}: cannot create a temporary file: {e}"))?;
            let mut progress = Progress::new(url, size);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                if let Some(progress) = &mut progress {
                    progress.advance(chunk.len() as u64);
                }
                file.write_all(&chunk)
                    .map_err(|e| format!("{url}: writing a temporary file: {e}"))?;
            }
            if let Some(progress) = &mut progress {
                progress.finish();
            }
            self.prefetched
                .lock()
                .expect("prefetch poisoned")
                .insert(url.clone(), (Arc::new(file), input));
        }
        Ok(())
    }

    /// The objects read since the last call, each once.
    pub fn take_inputs(&self) -> Vec<Input> {
        let mut inputs = std::mem::take(&mut *self.inputs.lock().expect("inputs poisoned"));
        let mut seen = Vec::new();
        inputs.retain(|i| {
            let new = !seen.contains(&i.url);
            seen.push(i.url.clone());
            new
        });
        inputs
    }
}

/// An opened object: what it is, its bytes, whether it says it is gzip, and its size.
type Opened = (
    Input,
    BoxStream<'static, Result<Bytes, FetchError>>,
    bool,
    Option<u64>,
);

/// A local file as a stream of chunks.
fn file_stream(path: PathBuf, url: &str) -> BoxStream<'static, Result<Bytes, FetchError>> {
    use tokio::io::AsyncReadExt as _;
    let url = url.to_owned();
    futures_util::stream::unfold(
        (None::<tokio::fs::File>, path, false),
        move |(file, path, done)| {
            let url = url.clone();
            async move {
                if done {
                    return None;
                }
                let mut file = match file {
                    Some(f) => f,
                    None => match tokio::fs::File::open(&path).await {
                        Ok(f) => f,
                        Err(e) => return Some((Err(format!("{url}: {e}")), (None, path, true))),
                    },
                };
                let mut buffer = vec![0; 256 * 1024];
                match file.read(&mut buffer).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buffer.truncate(n);
                        Some((Ok(Bytes::from(buffer)), (Some(file), path, false)))
                    }
                    Err(e) => Some((Err(format!("{url}: {e}")), (None, path, true))),
                }
            }
        },
    )
    .boxed()
}

/// An object store error that names the object and says what to do, without credentials.
fn describe_store_error(url: &str, error: &object_store::Error) -> FetchError {
    match error {
        object_store::Error::NotFound { .. } => format!("{url}: no such object"),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            format!("{url}: access denied; check your AWS login with `strata aws check`")
        }
        other => format!("{url}: {}", aws::error_chain(other)),
    }
}

/// How records are laid out.
enum Format {
    Ndjson,
    Csv { headers: Option<csv::StringRecord> },
}

/// Records of an NDJSON or CSV object, parsed as they arrive: memory stays bounded by one chunk.
pub struct Records<T> {
    download: Download,
    format: Format,
    buffer: Vec<u8>,
    queue: VecDeque<T>,
    /// Lines (NDJSON) or records (CSV, headers excluded) consumed so far.
    position: usize,
    ended: bool,
}

impl<T: DeserializeOwned> Records<T> {
    pub(crate) fn ndjson(download: Download) -> Records<T> {
        Records::new(download, Format::Ndjson)
    }

    pub(crate) fn csv(download: Download) -> Records<T> {
        Records::new(download, Format::Csv { headers: None })
    }

    fn new(download: Download, format: Format) -> Records<T> {
        Records {
            download,
            format,
            buffer: Vec::new(),
            queue: VecDeque::new(),
            position: 0,
            ended: false,
        }
    }

    /// The object's URL, ETag and version.
    pub fn input(&self) -> &Input {
        self.download.input()
    }

    /// The next record; `None` at the end. An error names the object, the line (NDJSON) or
    /// record (CSV) and the field.
    pub async fn next(&mut self) -> Option<Result<T, FetchError>> {
        loop {
            if let Some(record) = self.queue.pop_front() {
                return Some(Ok(record));
            }
            if self.ended {
                return None;
            }
            match self.download.chunk().await {
                Some(Ok(chunk)) => {
                    self.buffer.extend_from_slice(&chunk);
                    if let Err(e) = self.parse(false) {
                        self.ended = true;
                        return Some(Err(e));
                    }
                }
                Some(Err(e)) => {
                    self.ended = true;
                    return Some(Err(e));
                }
                None => {
                    self.ended = true;
                    if let Err(e) = self.parse(true) {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// Every remaining record.
    pub async fn collect(mut self) -> Result<Vec<T>, FetchError> {
        let mut out = Vec::new();
        while let Some(record) = self.next().await {
            out.push(record?);
        }
        Ok(out)
    }

    /// Parses the complete records in the buffer (all of it at the end).
    fn parse(&mut self, at_end: bool) -> Result<(), FetchError> {
        let url = self.download.input().url.clone();
        match &mut self.format {
            Format::Ndjson => {
                let end = if at_end {
                    self.buffer.len()
                } else {
                    match self.buffer.iter().rposition(|b| *b == b'\n') {
                        Some(i) => i + 1,
                        None => return Ok(()),
                    }
                };
                for line in self.buffer[..end].split(|b| *b == b'\n') {
                    self.position += 1;
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    // The fast parser first; on an error, again with the field's path tracked.
                    let record: T = match serde_json::from_slice(line) {
                        Ok(record) => record,
                        Err(_) => {
                            let mut deserializer = serde_json::Deserializer::from_slice(line);
                            serde_path_to_error::deserialize(&mut deserializer)
                                .map_err(|e| record_error(&url, "line", self.position, &e))?
                        }
                    };
                    self.queue.push_back(record);
                }
                // A buffer ending in a newline yields an empty last piece: not a line.
                if end > 0 && self.buffer[end - 1] == b'\n' {
                    self.position -= 1;
                }
                self.buffer.drain(..end);
            }
            Format::Csv { headers } => {
                let end = if at_end {
                    self.buffer.len()
                } else {
                    match record_boundary(&self.buffer) {
                        Some(i) => i + 1,
                        None => return Ok(()),
                    }
                };
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(&self.buffer[..end]);
                for row in reader.records() {
                    let row = row.map_err(|e| format!("{url}: {e}"))?;
                    let Some(names) = headers.as_ref() else {
                        *headers = Some(row);
                        continue;
                    };
                    self.position += 1;
                    let record: T = row.deserialize(Some(names)).map_err(|e| {
                        let field = match e.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err
                                .field()
                                .and_then(|i| names.get(i as usize))
                                .map(|n| format!("field `{n}`: "))
                                .unwrap_or_default(),
                            _ => String::new(),
                        };
                        let message = match e.kind() {
                            csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
                            _ => e.to_string(),
                        };
                        format!("{url}: record {}: {field}{message}", self.position)
                    })?;
                    self.queue.push_back(record);
                }
                self.buffer.drain(..end);
            }
        }
        Ok(())
    }
}

/// The position of the last newline that ends a CSV record (not inside quotes).
fn record_boundary(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut last = None;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => last = Some(i),
            _ => {}
        }
    }
    last
}

fn record_error(
    url: &str,
    unit: &str,
    position: usize,
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> FetchError {
    let path = error.path().to_string();
    let field = if path == "." || path.is_empty() {
        String::new()
    } else {
        format!("field `{path}`: ")
    };
    format!("{url}: {unit} {position}: {field}{}", error.inner())
}

/// Parses a whole JSON object, naming the field of an error.
pub(crate) fn json<T: DeserializeOwned>(url: &str, bytes: &[u8]) -> Result<T, FetchError> {
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!("field `{path}`: ")
        };
        format!("{url}: {field}{}", e.inner())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn download(chunks: Vec<&'static [u8]>, gzip: bool) -> Download {
        let stream =
            futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))))
                .boxed();
        Download {
            input: Input {
                url: "s3://b/k".into(),
                etag: None,
                version: None,
            },
            stream,
            gunzip: gzip.then(|| flate2::write::MultiGzDecoder::new(Vec::new())),
            finished: false,
            progress: None,
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Row {
        id: i32,
        name: String,
    }

    #[tokio::test]
    async fn ndjson_across_chunk_boundaries_with_line_numbers() {
        let records: Records<Row> = Records::ndjson(download(
            vec![
                b"{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"na",
                b"me\": \"b\"}\n\n{\"id\": 3, \"name\": \"c\"}",
            ],
            false,
        ));
        let rows = records.collect().await.unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);

        let records: Records<Row> = Records::ndjson(download(
            vec![b"{\"id\": 1, \"name\": \"a\"}\n\n{\"id\": \"x\", \"name\": \"b\"}\n"],
            false,
        ));
        let error = records.collect().await.unwrap_err();
        assert!(
            error.starts_with("s3://b/k: line 3: field `id`: invalid type"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn csv_with_quoted_newlines_and_a_named_field() {
        let records: Records<Row> = Records::csv(download(
            vec![b"id,name\n1,\"multi\nline\"\n2,", b"b\n"],
            false,
        ));
        let rows = records.collect().await.unwrap();
        assert_eq!(
            rows,
            [
                Row {
                    id: 1,
                    name: "multi\nline".into()
                },
                Row {
                    id: 2,
                    name: "b".into()
                }
            ]
        );

        let records: Records<Row> = Records::csv(download(vec![b"id,name\n1,a\nx,b\n"], false));
        let error = records.collect().await.unwrap_err();
        assert!(
            error.starts_with("s3://b/k: record 2: field `id`: "),
            "{error}"
        );
    }

    #[test]
    fn progress_lines_say_how_far_how_fast_and_how_long() {
        let mut progress = Progress::new("s3://b/big.ndjson", Some(100 * 1024 * 1024)).unwrap();
        progress.done = 45 * 1024 * 1024;
        let line = progress.line();
        assert!(
            line.starts_with("s3://b/big.ndjson: 45% (45 MiB of 100 MiB, ")
                && line.ends_with(" s left)"),
            "{line}"
        );
        assert!(Progress::new("s3://b/small", Some(1024)).is_none());
    }

    #[tokio::test]
    async fn gzip_is_decoded_as_it_streams() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(b"{\"id\": 7, \"name\": \"z\"}\n")
            .unwrap();
        let compressed: &'static [u8] = Box::leak(encoder.finish().unwrap().into_boxed_slice());
        let (first, second) = compressed.split_at(compressed.len() / 2);
        let rows = Records::<Row>::ndjson(download(vec![first, second], true))
            .collect()
            .await
            .unwrap();
        assert_eq!(
            rows,
            [Row {
                id: 7,
                name: "z".into()
            }]
        );
    }
}
