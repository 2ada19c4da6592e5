//! ogshot end to end: the three apps in-process, Debian's Chromium, an in-process S3
//! server, real HTTP; and the Chromium that ships to AWS Lambda, rendering under the
//! service's own renderer. One test binary, so the suite links once.

mod byte_budget;
mod card;
mod check;
mod crawler;
mod drills;
mod glow;
mod headline;
mod lambda_chromium;
mod nginx_edge;
mod previews;
mod real_sites;
mod scripts;
mod signin;
mod slow_fonts;
