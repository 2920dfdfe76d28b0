use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's database id.
    UserId
);
id_type!(
    /// A conversation's database id.
    ConversationId
);
id_type!(
    /// A message's database id; ids grow with insertion order.
    MessageId
);
id_type!(
    /// A toolkit connection's database id.
    ConnectionId
);
id_type!(
    /// A memory's database id (a durable fact about the person).
    MemoryId
);
id_type!(
    /// A pending (or decided) approval of a tool call.
    ApprovalId
);
id_type!(
    /// An entry of the action log.
    ActionId
);
id_type!(
    /// A person's tool policy rule.
    ToolPolicyId
);
id_type!(
    /// A person's own MCP server.
    McpServerId
);
