//! Domain types shared by every port and use case.

mod connection;
mod conversation;
mod ids;
mod login;
mod memory;
mod message;
mod page;
mod return_to;
pub mod text;
mod tree;
mod usage;
mod user;

pub use connection::{ConnectionStatus, ConnectionUpdate, NewConnection, ToolkitConnection, ToolkitSlug};
pub use conversation::{Conversation, Title, TitleError};
pub use ids::{
    ActionId, ApprovalId, ConnectionId, ConversationId, McpServerId, MemoryId, MessageId, ToolPolicyId, UserId,
};
pub use login::PendingLogin;
pub use memory::{MemoryFact, MemoryOrigin, MemorySource, MemorySwitch, MemoryText, MemoryTextError, NewMemory};
pub use message::{ClientMessageId, Message, MessageKind, NewMessage};
pub use page::Page;
pub use return_to::ReturnTo;
pub use tree::{BranchPage, MessageTree, Parent, TreeNode, page_of};
pub use usage::{Usage, UsageEntry};
pub use user::{AuthMethod, Email, NewUser, User};
