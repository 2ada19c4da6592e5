//! ogshot end to end: the three apps in-process, Debian's Chromium, an in-process S3
//! server, real HTTP. One test binary, so the suite links once.

mod crawler;
mod drills;
