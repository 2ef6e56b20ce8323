//! End-to-end tests of the built `ipatlas` binary, run as a user runs it.

mod common;

mod aggregate;
mod cache;
mod compare;
mod crosscheck;
mod databases;
mod details;
mod faults;
mod formats;
mod geojson;
mod html;
mod info;
mod inputs;
mod integrity;
mod library;
mod lookup;
mod maps;
mod merge;
mod regions;
mod sample;
mod shared;
mod table;
mod threads;
mod truthful;
mod vector;
mod weights;
