"""The HTTP contract: request and response models shared by the server and the client."""
