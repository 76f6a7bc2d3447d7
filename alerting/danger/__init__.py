"""Fire-danger levels (cấp dự báo cháy rừng I-V): stored per day and district or camera (levels),
read from a feed (feed), published to the stream workers as each camera's vote (publish)."""
