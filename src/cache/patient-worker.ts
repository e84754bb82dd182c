/**
 * Worker-thread entry for parallel cache building: receives PatientJobs, answers with
 * PatientOutcomes. No logic of its own beyond the message loop.
 */
import { parentPort } from 'node:worker_threads';
import { type PatientJob, processPatient } from './patient-job';

parentPort?.on('message', (job: PatientJob) => {
  void processPatient(job).then((outcome) => parentPort?.postMessage(outcome));
});
