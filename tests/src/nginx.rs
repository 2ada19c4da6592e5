//! Debian's nginx, run by a test or the benchmark: in the foreground as a process group
//! of its own (stopped with it when dropped), with a generated configuration in a
//! temporary prefix of its own, never the machine's `/etc/nginx`. It decides nothing
//! about what nginx serves: the caller writes the `http` block.

use std::path::Path;
use std::time::Duration;

use test_kit::process::Process;
use tokio::process::Command;

pub const NGINX: &str = "/usr/sbin/nginx";

/// nginx serving one `http` block: one master, one worker, its pid file, temporary
/// files and error log in its own prefix.
#[derive(Debug)]
pub struct Nginx {
    _process: Process,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    /// Writes `files` (paths relative to the prefix) into a fresh prefix, then starts
    /// nginx with `http` as its `http` block, and returns once its worker runs. Relative
    /// paths in `http` (`root`, `include`, `access_log`) are the prefix's.
    ///
    /// # Panics
    /// If nginx is missing (with how to install it), or its worker has not started within
    /// 20 s (with all it printed).
    pub async fn start(
        http: &str,
        files: impl IntoIterator<Item = (impl AsRef<Path>, impl AsRef<[u8]>)>,
    ) -> Self {
        assert!(
            Path::new(NGINX).is_file(),
            "Debian's nginx is missing at {NGINX}: apt-get install nginx-light \
             (scripts/lib.sh's ensure_test_packages does)"
        );
        let prefix = tempfile::tempdir().expect("a temporary directory");
        // Run as root, nginx's workers run as nobody and must reach the files and the
        // temporary paths nginx makes (and hands to them) inside the prefix.
        std::fs::set_permissions(
            prefix.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("a readable nginx prefix");
        for (path, bytes) in files {
            let path = prefix.path().join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("a directory in the prefix");
            }
            std::fs::write(&path, bytes)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        std::fs::write(prefix.path().join("nginx.conf"), conf(prefix.path(), http))
            .expect("nginx.conf");
        let mut process = Process::spawn(
            "nginx",
            Command::new(NGINX).arg("-p").arg(prefix.path()).args([
                "-c",
                "nginx.conf",
                "-e",
                "stderr",
            ]),
        );
        process
            .wait_for("start worker process", Duration::from_secs(20))
            .await;
        Self {
            _process: process,
            _prefix: prefix,
        }
    }
}

/// The whole configuration: everything of nginx's in `prefix`. The error log also goes
/// to stderr, where [`Nginx::start`] reads that the worker started.
fn conf(prefix: &Path, http: &str) -> String {
    let dir = prefix.display();
    format!(
        "daemon off;\n\
         master_process on;\n\
         worker_processes 1;\n\
         pid {dir}/nginx.pid;\n\
         error_log {dir}/error.log notice;\n\
         error_log stderr notice;\n\
         # The benchmark's load puts hundreds of clients and as many upstream connections\n\
         # on the one worker.\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
             client_body_temp_path {dir}/client_body;\n\
             proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi;\n\
             uwsgi_temp_path {dir}/uwsgi;\n\
             scgi_temp_path {dir}/scgi;\n\
         {http}\n\
         }}\n"
    )
}
