//! A real S3-protocol server for tests: `s3s-fs` in-process on `127.0.0.1`, backed by a temporary
//! folder in which a bucket is a folder and an object a file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "AKIASTRATATEST000001";
/// Its secret.
pub const SECRET_KEY: &str = "strata-test-secret-key-0000000000000000";

/// A running S3-protocol server.
pub struct S3Server {
    endpoint: String,
    root: PathBuf,
}

impl S3Server {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The folder holding the buckets.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores an object (creating its bucket).
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.root.join(bucket).join(key);
        std::fs::create_dir_all(path.parent().expect("an object has a folder"))
            .expect("creating the bucket folder");
        std::fs::write(path, bytes).expect("writing the object");
    }

    /// The environment that points the AWS SDKs at this server with its credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }
}

/// The server of this test run, started on first use.
pub fn s3() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> S3Server {
    let root = tempfile::Builder::new()
        .prefix("strata-s3-")
        .tempdir()
        .expect("creating the S3 folder")
        .keep();
    let (ready, port) = std::sync::mpsc::channel();
    let served = root.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the S3 server's runtime");
        runtime.block_on(async move {
            let fs = s3s_fs::FileSystem::new(&served).expect("the S3 file system");
            let service = {
                let mut builder = S3ServiceBuilder::new(fs);
                builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                builder.build()
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binding the S3 server");
            ready
                .send(listener.local_addr().expect("its address").port())
                .expect("reporting the port");
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
    });
    let port = port.recv().expect("the S3 server started");
    S3Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        root,
    }
}
