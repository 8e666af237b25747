import type { FastifyBaseLogger } from 'fastify';
import kafkajs, { type Kafka } from 'kafkajs';

export interface TopicSpec {
  topics: string[];
  partitions: number;
  replicationFactor: number;
}

/**
 * What the topics accept: their partitions, and the smallest max.message.bytes among them (the most one
 * record batch may hold).
 */
export interface TopicsFound {
  partitions: Map<string, number>;
  maxMessageBytes: number;
}

/** Creates the topics that do not exist yet (auto-creation is off on the broker), then reads them. */
export async function ensureTopics(
  kafka: Kafka,
  spec: TopicSpec,
  log: FastifyBaseLogger,
): Promise<TopicsFound> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = spec.topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
        })),
      });
      log.info({ topics: missing }, 'created topics');
    }
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: spec.topics.map((name) => ({
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name,
        configNames: ['max.message.bytes'],
      })),
    });
    const limits = resources.flatMap((resource) =>
      resource.configEntries.map((entry) => Number(entry.configValue)).filter(Number.isFinite),
    );
    const metadata = await admin.fetchTopicMetadata({ topics: spec.topics });
    return {
      partitions: new Map(metadata.topics.map(({ name, partitions }) => [name, partitions.length])),
      maxMessageBytes: Math.min(...limits),
    };
  } finally {
    await admin.disconnect();
  }
}
