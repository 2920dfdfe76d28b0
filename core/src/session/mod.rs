//! Sessions: what a session token says, the port that signs and checks tokens, and the port
//! that tells every instance when sessions end.

mod claims;
mod codec;
mod ended;
mod notices;

pub use claims::{SessionClaims, TokenId};
pub use codec::{SessionToken, TokenCodec, TokenError};
pub use ended::EndedSessions;
pub(crate) use ended::issued_by;
pub use notices::{NoticeError, SessionEnded, SessionNotice, SessionNotices};
