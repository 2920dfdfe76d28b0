//! People own their data: the export of everything they have as one versioned JSON document
//! ([`Export`], streamed section by section), and the import of such a document or of ChatGPT's
//! `conversations.json` ([`Import`]).

mod chatgpt;
mod export;
pub mod format;
mod import;
mod shape;

pub use export::{Export, ExportError, ExportSection, Fragments};
pub use import::{Import, ImportError, ImportFormat, ImportItem, ImportReport, ItemKind, Outcome};
