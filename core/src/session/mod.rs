//! Sessions: what a session token says, and the port that signs and checks tokens.

mod claims;
mod codec;

pub use claims::{SessionClaims, TokenId};
pub use codec::{SessionToken, TokenCodec, TokenError};
