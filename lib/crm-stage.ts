import { Stage, type StageProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config';
import { API_FUNCTION_TIMEOUT, API_STAGE_NAME, restApiName } from './constructs/crm-api';
import { RESERVED_CONCURRENCY_CONTEXT } from './constructs/crm-function';
import { ApiStack } from './stacks/api-stack';
import { DataStack } from './stacks/data-stack';
import { NetworkStack } from './stacks/network-stack';
import { OpsStack } from './stacks/ops-stack';

export interface CrmStageProps extends StageProps {
  readonly config: EnvironmentConfig;
}

/** One environment of the CRM platform: its stacks, wired together. */
export class CrmStage extends Stage {
  public readonly network: NetworkStack;
  public readonly data: DataStack;
  public readonly api: ApiStack;
  public readonly ops: OpsStack;

  constructor(scope: Construct, id: string, props: CrmStageProps) {
    super(scope, id, props);
    const { config } = props;
    this.node.setContext(RESERVED_CONCURRENCY_CONTEXT, config.lambda?.reservedConcurrency ?? true);
    Tags.of(this).add('project', 'crm-platform');
    Tags.of(this).add('environment', config.name);

    this.network = new NetworkStack(this, 'Network', { config, description: `CRM ${config.name}: network` });
    this.data = new DataStack(this, 'Data', {
      config,
      network: this.network.network,
      description: `CRM ${config.name}: database`,
    });
    // Stateless: no termination protection, replaceable at any time. Neither stateless stack
    // exports anything another stack imports, and they import from the stateful ones only what
    // lasts as long as those (VPC, subnets, security groups, keys, the master secret); the rest is
    // literal names or SSM parameters read at deploy time (test/infra/stacks/replacement.test.ts).
    this.api = new ApiStack(this, 'Api', {
      config,
      network: this.network.network,
      database: this.data.database,
      description: `CRM ${config.name}: API, user pool, WAF`,
    });
    // Stateless too: schedules, workflows and alarms can be redeployed without touching data.
    this.ops = new OpsStack(this, 'Ops', {
      config,
      network: this.network.network,
      database: this.data.database,
      databaseKey: this.data.key.key,
      api: {
        restApiName: restApiName(config.name),
        stageName: API_STAGE_NAME,
        functionTimeout: API_FUNCTION_TIMEOUT,
        webAcl: this.api.firewall.webAcl,
      },
      description: `CRM ${config.name}: snapshots, restore, drills, advisor, alarms, dashboard`,
    });
    // Deploy order, now that no reference implies it: a stack deploys after the stacks whose SSM
    // parameters it reads (Data's database values, Api's function name).
    this.api.addStackDependency(this.data, 'reads the database SSM parameters');
    this.ops.addStackDependency(this.data, 'reads the database SSM parameters');
    this.ops.addStackDependency(this.api, 'reads the API function name parameter, alarms on the API');
  }
}
