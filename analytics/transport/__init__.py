"""Transports between the publisher and the consumer: RabbitMQ (pika) or in-process.

Both carry the same message bodies (``EventRecord`` JSON) to the same ``BatchProcessor``.
"""
