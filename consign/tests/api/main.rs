//! End-to-end tests of the real server over HTTP. Each test gets its own database: a fresh
//! SQLite file, or — when `CONSIGN_TEST_DATABASE_URL` points at PostgreSQL — a fresh database
//! on that server.

mod addresses;
mod auth;
mod batches;
mod carrier_accounts;
mod cli;
mod conventions;
mod crash;
mod crowdfunding;
mod customs;
mod fakes;
mod footing;
mod health;
mod helpers;
mod labels;
mod openapi;
mod orders;
mod orders_csv;
mod parcels;
mod providers;
mod robustness;
mod scale;
mod shipments;
mod storage;
mod tenancy;
mod tracking;
mod upstream;
mod users;
mod web;
mod web_pages;
mod web_work;
mod webhooks;
