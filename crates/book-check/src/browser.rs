//! A headless Chromium driven through chromedriver (WebDriver, with the
//! fantoccini client): started on a free local port, in a process group of
//! its own that is killed when the [`Browser`] is dropped, so no browser
//! process outlives a check — not even one that panicked.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to install when no browser is found (Debian's packages; CI's
/// `.ci/run` installs them).
pub const INSTALL_HINT: &str = "install Chromium and its WebDriver: `apt-get install chromium chromium-driver` \
     (or set BOOK_CHECK_CHROME and BOOK_CHECK_CHROMEDRIVER to their paths)";

/// The two programs a check needs.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The browser, e.g. `/usr/bin/chromium`.
    pub chrome: PathBuf,
    /// Its WebDriver server, e.g. `/usr/bin/chromedriver`.
    pub chromedriver: PathBuf,
}

impl Programs {
    /// Finds Chromium and chromedriver (environment overrides first, then
    /// `PATH`), or says what to install.
    pub fn find() -> Result<Programs> {
        let chrome = find_program(
            "BOOK_CHECK_CHROME",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let chromedriver = find_program("BOOK_CHECK_CHROMEDRIVER", &["chromedriver"]);
        match (chrome, chromedriver) {
            (Some(chrome), Some(chromedriver)) => Ok(Programs {
                chrome,
                chromedriver,
            }),
            _ => bail!("no headless browser found: {INSTALL_HINT}"),
        }
    }
}

fn find_program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A viewport: its CSS size and whether it is a phone's.
#[derive(Debug, Clone, Copy)]
pub struct Viewport {
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// A phone: touch, mobile layout rules, device pixel ratio 2.
    pub mobile: bool,
}

/// A laptop's window.
pub const DESKTOP: Viewport = Viewport {
    width: 1280,
    height: 900,
    mobile: false,
};

/// The narrowest common phone: 375 CSS pixels wide.
pub const PHONE: Viewport = Viewport {
    width: 375,
    height: 812,
    mobile: true,
};

/// One browser session. Every method waits for its answer.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub fn start(programs: &Programs) -> Result<Browser> {
        let port = free_port()?;
        let mut driver = Command::new(&programs.chromedriver);
        driver
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: dropping the Browser kills the driver
            // and every browser process it started, whatever state they are in.
            .process_group(0);
        let driver = driver
            .spawn()
            .with_context(|| format!("cannot start {}", programs.chromedriver.display()))?;
        let profile = tempfile::TempDir::new()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut browser = Browser {
            runtime,
            client: None,
            driver,
            profile,
        };
        wait_for_port(port, Duration::from_secs(20))?;
        let capabilities = capabilities(&programs.chrome, browser.profile.path());
        let client = browser.runtime.block_on(async {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities)
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
        });
        browser.client = Some(client.map_err(|e| anyhow!("chromedriver refused a session: {e}"))?);
        Ok(browser)
    }

    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a started browser has a client")
    }

    /// Loads `url` and waits until the page and what it includes are loaded.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.runtime
            .block_on(self.client().goto(url))
            .with_context(|| format!("cannot load {url}"))
    }

    /// Runs `script` (a function body; `return` gives the answer) in the page.
    pub fn eval<T: DeserializeOwned>(&self, script: &str) -> Result<T> {
        let value = self
            .runtime
            .block_on(self.client().execute(script, Vec::new()))
            .context("a script in the page failed")?;
        serde_json::from_value(value).context("a script in the page answered something unexpected")
    }

    /// Sends a Chrome DevTools Protocol command (through chromedriver).
    pub fn devtools(&self, command: &str, params: Value) -> Result<Value> {
        let cmd = DevTools {
            body: json!({ "cmd": command, "params": params }),
        };
        self.runtime
            .block_on(self.client().issue_cmd(cmd))
            .with_context(|| format!("DevTools command {command} failed"))
    }

    /// The console's errors since the last call (reading them empties the log).
    pub fn console_errors(&self) -> Result<Vec<String>> {
        let entries = self
            .runtime
            .block_on(self.client().issue_cmd(BrowserLog))
            .context("cannot read the browser's console")?;
        let entries: Vec<LogEntry> = serde_json::from_value(entries)?;
        Ok(entries
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .map(|e| e.message)
            .collect())
    }

    /// Sets the page's viewport (until the next call).
    pub fn set_viewport(&self, viewport: Viewport) -> Result<()> {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": viewport.width,
                "height": viewport.height,
                "deviceScaleFactor": if viewport.mobile { 2 } else { 1 },
                "mobile": viewport.mobile,
            }),
        )?;
        Ok(())
    }

    /// Renders pages as for printing (`true`) or for the screen (`false`).
    pub fn emulate_print(&self, print: bool) -> Result<()> {
        let media = if print { "print" } else { "" };
        self.devtools("Emulation.setEmulatedMedia", json!({ "media": media }))?;
        Ok(())
    }

    /// Saves the whole page, not only what the viewport shows, as a JPEG.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let shot = self.devtools(
            "Page.captureScreenshot",
            json!({ "format": "jpeg", "quality": 70, "captureBeyondViewport": true, "optimizeForSpeed": true }),
        )?;
        let data = shot["data"]
            .as_str()
            .context("the screenshot came back without data")?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Sends key presses to the page, as a reader's keyboard would.
    pub fn press(&self, keys: &str) -> Result<()> {
        let body = self
            .runtime
            .block_on(self.client().find(fantoccini::Locator::Css("body")))?;
        self.runtime.block_on(body.send_keys(keys))?;
        Ok(())
    }

    /// Types `text` into the element `selector` finds, as a reader would.
    pub fn type_into(&self, selector: &str, text: &str) -> Result<()> {
        let field = self
            .runtime
            .block_on(self.client().find(fantoccini::Locator::Css(selector)))
            .with_context(|| format!("no {selector} on the page"))?;
        self.runtime.block_on(field.send_keys(text))?;
        Ok(())
    }

    /// Waits until `script` answers something other than `null` (or the time is up).
    pub fn wait_for<T: DeserializeOwned>(
        &self,
        script: &str,
        limit: Duration,
    ) -> Result<Option<T>> {
        let start = Instant::now();
        loop {
            let value: Value = self.eval(script)?;
            if !value.is_null() {
                return Ok(Some(serde_json::from_value(value)?));
            }
            if start.elapsed() > limit {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Ends the session, which quits the browser; then the group goes.
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), client.close()).await
            });
        }
        let group = nix::unistd::Pid::from_raw(self.driver.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
    }
}

fn capabilities(chrome: &Path, profile: &Path) -> serde_json::Map<String, Value> {
    let options = json!({
        "binary": chrome,
        "args": [
            "--headless=new",
            // Root has no user namespace sandbox to give the renderer; the
            // pages are our own book, read from disk.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1280,900",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    capabilities
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn wait_for_port(port: u16, limit: Duration) -> Result<()> {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > limit {
            bail!("chromedriver did not start listening on port {port} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// chromedriver's `goog/cdp/execute`: one DevTools Protocol command.
#[derive(Debug)]
struct DevTools {
    body: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// chromedriver's `se/log`: the browser console's entries since the last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

#[derive(serde::Deserialize)]
struct LogEntry {
    level: String,
    message: String,
}
