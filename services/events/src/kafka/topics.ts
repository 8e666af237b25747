import type { FastifyBaseLogger } from 'fastify';
import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  topics: string[];
  partitions: number;
  replicationFactor: number;
}

/** Creates the topics that do not exist yet (auto-creation is off on the broker). */
export async function ensureTopics(kafka: Kafka, spec: TopicSpec, log: FastifyBaseLogger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = spec.topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
      })),
    });
    log.info({ topics: missing }, 'created topics');
  } finally {
    await admin.disconnect();
  }
}
