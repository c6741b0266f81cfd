//===- LaunchTest.cpp - Ranks, local ranks and job ids from the launcher --===//

#include "dist/Launch.h"
#include "s2s/runtime/Error.h"

#include "TestSupport.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace rt = s2s::rt;

namespace {

rt::EnvLookup envOf(std::map<std::string, std::string> vars) {
  auto shared =
      std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char *name) -> const char * {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

using s2s_test::errorOf;

std::string localRanksError(std::map<std::string, std::string> vars) {
  return errorOf([&] { rt::localRanks(envOf(std::move(vars))); });
}

TEST(Launch, LocalRanks) {
  rt::LocalRanks r = rt::localRanks(envOf({}));
  EXPECT_EQ(r.rank, 0);
  EXPECT_EQ(r.size, 1);
  EXPECT_EQ(r.source, "");

  r = rt::localRanks(envOf({{"LOCAL_RANK", "3"},
                            {"LOCAL_WORLD_SIZE", "4"},
                            {"SLURM_LOCALID", "1"}}));
  EXPECT_EQ(r.rank, 3);
  EXPECT_EQ(r.size, 4);
  EXPECT_EQ(r.source, "LOCAL_RANK/LOCAL_WORLD_SIZE");

  r = rt::localRanks(
      envOf({{"SLURM_LOCALID", "2"}, {"SLURM_NTASKS_PER_NODE", "8"}}));
  EXPECT_EQ(r.rank, 2);
  EXPECT_EQ(r.size, 8);

  r = rt::localRanks(envOf({{"SLURM_LOCALID", "3"},
                            {"SLURM_TASKS_PER_NODE", "2(x2),4"},
                            {"SLURM_NODEID", "2"}}));
  EXPECT_EQ(r.size, 4);
  EXPECT_EQ(r.source, "SLURM_LOCALID/SLURM_TASKS_PER_NODE");
  r = rt::localRanks(envOf({{"SLURM_LOCALID", "1"},
                            {"SLURM_STEP_TASKS_PER_NODE", "2(x2),4"},
                            {"SLURM_TASKS_PER_NODE", "9"},
                            {"SLURM_NODEID", "1"}}));
  EXPECT_EQ(r.size, 2);

  r = rt::localRanks(envOf({{"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                            {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}));
  EXPECT_EQ(r.rank, 0);
  EXPECT_EQ(r.size, 2);

  EXPECT_EQ(localRanksError({{"LOCAL_RANK", "x1"}, {"LOCAL_WORLD_SIZE", "4"}}),
            "environment variable LOCAL_RANK='x1' is not a whole number");
  EXPECT_EQ(localRanksError({{"LOCAL_RANK", "1"}}),
            "environment variable LOCAL_RANK is set but LOCAL_WORLD_SIZE is "
            "not; set both or neither");
  EXPECT_EQ(localRanksError({{"LOCAL_RANK", "4"}, {"LOCAL_WORLD_SIZE", "4"}}),
            "local rank 4 (from LOCAL_RANK/LOCAL_WORLD_SIZE) must be in 0..3");
  EXPECT_EQ(localRanksError({{"SLURM_LOCALID", "0"}}).substr(0, 62),
            "environment variable SLURM_LOCALID is set but none of SLURM_NT");
  EXPECT_EQ(localRanksError(
                {{"SLURM_LOCALID", "0"}, {"SLURM_TASKS_PER_NODE", "2(y3)"}}),
            "environment variable SLURM_TASKS_PER_NODE='2(y3)' is not a SLURM "
            "task count list such as '4(x2),3'");
  EXPECT_EQ(localRanksError({{"SLURM_LOCALID", "0"},
                             {"SLURM_TASKS_PER_NODE", "2,2"},
                             {"SLURM_NODEID", "2"}}),
            "environment variable SLURM_NODEID=2 is outside "
            "SLURM_TASKS_PER_NODE='2,2' (2 nodes)");
  EXPECT_EQ(localRanksError({{"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                             {"OMPI_COMM_WORLD_LOCAL_SIZE", "0"}}),
            "local world size 0 (from "
            "OMPI_COMM_WORLD_LOCAL_RANK/OMPI_COMM_WORLD_LOCAL_SIZE) must be "
            "at least 1");
}

TEST(Launch, JobId) {
  EXPECT_EQ(rt::jobId("", envOf({{"S2S_JOB_ID", "my job/1"},
                                 {"SLURM_JOB_ID", "77"}})),
            "my_job_1");
  EXPECT_EQ(rt::jobId("", envOf({{"SLURM_JOB_ID", "77"},
                                 {"SLURM_STEP_ID", "2"},
                                 {"TORCHELASTIC_RUN_ID", "none"}})),
            "77.2");
  EXPECT_EQ(rt::jobId("", envOf({{"SLURM_JOB_ID", "77"}})), "77");
  std::string ppid = std::to_string(::getppid());
  EXPECT_EQ(rt::jobId("", envOf({{"TORCHELASTIC_RUN_ID", "none"}})),
            "none-" + ppid);
  std::string a = rt::jobId("era5 train", envOf({}));
  std::string b = rt::jobId("era5 valid", envOf({}));
  EXPECT_EQ(a.rfind("p" + ppid + "-", 0), 0u) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(a, rt::jobId("era5 train", envOf({})));
}

std::string rankError(std::map<std::string, std::string> vars) {
  return errorOf([&] { rt::rankInfo(envOf(std::move(vars))); });
}

TEST(Launch, RankInfoFromEnvironment) {
  rt::RankInfo r = rt::rankInfo(envOf({}));
  EXPECT_EQ(r.rank, 0);
  EXPECT_EQ(r.worldSize, 1);
  EXPECT_EQ(r.source, "");

  r = rt::rankInfo(envOf({{"RANK", "5"},
                          {"WORLD_SIZE", "8"},
                          {"SLURM_PROCID", "0"},
                          {"SLURM_NTASKS", "1"}}));
  EXPECT_EQ(r.rank, 5);
  EXPECT_EQ(r.worldSize, 8);
  EXPECT_EQ(r.source, "RANK/WORLD_SIZE");
  r = rt::rankInfo(envOf({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}}));
  EXPECT_EQ(r.rank, 3);
  EXPECT_EQ(r.source, "SLURM_PROCID/SLURM_NTASKS");
  r = rt::rankInfo(
      envOf({{"OMPI_COMM_WORLD_RANK", " 1 "}, {"OMPI_COMM_WORLD_SIZE", "2"}}));
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.worldSize, 2);
  r = rt::rankInfo(envOf({{"PMI_RANK", "0"}, {"PMI_SIZE", "16"}}));
  EXPECT_EQ(r.worldSize, 16);
  EXPECT_EQ(r.source, "PMI_RANK/PMI_SIZE");

  EXPECT_EQ(rankError({{"RANK", "4"}, {"WORLD_SIZE", "4"}}),
            "environment variable RANK=4 must be in 0..3 (WORLD_SIZE=4)");
  EXPECT_EQ(rankError({{"RANK", "-1"}, {"WORLD_SIZE", "4"}}),
            "environment variable RANK=-1 must be in 0..3 (WORLD_SIZE=4)");
  EXPECT_EQ(rankError({{"RANK", "two"}, {"WORLD_SIZE", "4"}}),
            "environment variable RANK='two' is not a whole number");
  EXPECT_EQ(rankError({{"RANK", "0"}, {"WORLD_SIZE", "4x"}}),
            "environment variable WORLD_SIZE='4x' is not a whole number");
  EXPECT_EQ(rankError({{"RANK", "0"}, {"WORLD_SIZE", ""}}),
            "environment variable WORLD_SIZE='' is not a whole number");
  EXPECT_EQ(rankError({{"SLURM_PROCID", "0"}}),
            "environment variable SLURM_PROCID is set but SLURM_NTASKS is "
            "not; set both or neither");
  EXPECT_EQ(rankError({{"PMI_RANK", "0"}, {"PMI_SIZE", "0"}}),
            "environment variable PMI_SIZE=0 must be at least 1");
  EXPECT_EQ(rankError({{"RANK", "99999999999999999999"}, {"WORLD_SIZE", "4"}}),
            "environment variable RANK='99999999999999999999' is not a whole "
            "number");
}

} // namespace

TEST(Launch, RendezvousFromTorchrunSlurmAndNothing) {
  rt::Rendezvous r = rt::rendezvous(envOf({}));
  EXPECT_EQ(r.masterAddr, "");
  EXPECT_EQ(r.restartCount, 0);
  EXPECT_FALSE(r.agentStore);
  r = rt::rendezvous(envOf({{"MASTER_ADDR", "127.0.0.1"},
                            {"MASTER_PORT", "29400"},
                            {"TORCHELASTIC_RESTART_COUNT", "2"},
                            {"TORCHELASTIC_USE_AGENT_STORE", "True"}}));
  EXPECT_EQ(r.masterAddr, "127.0.0.1");
  EXPECT_EQ(r.masterPort, 29400);
  EXPECT_EQ(r.restartCount, 2);
  EXPECT_TRUE(r.agentStore);
  r = rt::rendezvous(envOf({{"SLURM_JOB_NODELIST", "gpu[07-09,12],cpu1"},
                            {"SLURM_JOB_ID", "4512345"},
                            {"SLURM_RESTART_COUNT", "1"}}));
  EXPECT_EQ(r.masterAddr, "gpu07");
  EXPECT_EQ(r.masterPort, 15000 + 2345);
  EXPECT_EQ(r.restartCount, 1);
  EXPECT_EQ(rt::firstSlurmHost("n1,n2"), "n1");
  EXPECT_EQ(rt::firstSlurmHost("x[3]"), "x3");
  EXPECT_NE(errorOf([] {
              rt::rendezvous(envOf({{"MASTER_ADDR", "h"}}));
            }).find("MASTER_PORT is not"),
            std::string::npos);
  EXPECT_NE(
      errorOf([] {
        rt::rendezvous(envOf({{"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}));
      }).find("not in 1..65535"),
      std::string::npos);
}

TEST(Launch, LaunchEnvUnderOpenMpi) {
  rt::LaunchEnv e = rt::launchEnv(envOf({{"OMPI_COMM_WORLD_RANK", "1"},
                                         {"OMPI_COMM_WORLD_SIZE", "2"},
                                         {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                         {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}));
  EXPECT_EQ(e.ranks.rank, 1);
  EXPECT_EQ(e.ranks.worldSize, 2);
  EXPECT_EQ(e.local.size, 2);
  EXPECT_EQ(e.meet.masterAddr, "");
}
