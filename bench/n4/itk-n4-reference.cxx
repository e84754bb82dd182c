// ITK reference for the TypeScript N4 (bench only; never shipped).
// Reads a raw little-endian float32 volume and a raw uint8 mask (x fastest), shrinks both with
// itk::ShrinkImageFilter, runs itk::N4BiasFieldCorrectionImageFilter with the given settings and
// reconstructs the full-resolution log bias field from the control-point lattice with
// itk::BSplineControlPointImageFilter, as ANTs' N4BiasFieldCorrection does. Writes the log field
// as raw float32 and prints timings as JSON on stdout.
//
// usage: itk-n4-reference image.f32 mask.u8 nx ny nz sx sy sz shrink iterations(e.g. 50x50x50x50)
//                         threshold controlPoints out-logfield.f32 [threads]
#include "itkImage.h"
#include "itkImportImageFilter.h"
#include "itkShrinkImageFilter.h"
#include "itkN4BiasFieldCorrectionImageFilter.h"
#include "itkBSplineControlPointImageFilter.h"
#include "itkMultiThreaderBase.h"
#include "itkCommand.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using ImageType = itk::Image<float, 3>;
using MaskType = itk::Image<unsigned char, 3>;

template <typename T>
static std::vector<T> readRaw(const char * path, size_t n)
{
  std::vector<T> v(n);
  std::ifstream f(path, std::ios::binary);
  if (!f.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(n * sizeof(T))))
  {
    std::cerr << "cannot read " << n << " values from " << path << std::endl;
    std::exit(2);
  }
  return v;
}

template <typename TImage>
static typename TImage::Pointer makeImage(std::vector<typename TImage::PixelType> & buf, const size_t dims[3], const double sp[3])
{
  typename TImage::Pointer img = TImage::New();
  typename TImage::RegionType region;
  typename TImage::SizeType size;
  for (int d = 0; d < 3; ++d) size[d] = dims[d];
  region.SetSize(size);
  img->SetRegions(region);
  typename TImage::SpacingType spacing;
  for (int d = 0; d < 3; ++d) spacing[d] = sp[d];
  img->SetSpacing(spacing);
  img->Allocate();
  std::copy(buf.begin(), buf.end(), img->GetBufferPointer());
  return img;
}

int main(int argc, char * argv[])
{
  if (argc < 14)
  {
    std::cerr << "usage: " << argv[0]
              << " image.f32 mask.u8 nx ny nz sx sy sz shrink iterations threshold controlPoints out.f32 [threads]\n";
    return 1;
  }
  const size_t dims[3] = { std::strtoul(argv[3], nullptr, 10), std::strtoul(argv[4], nullptr, 10),
                           std::strtoul(argv[5], nullptr, 10) };
  const double sp[3] = { std::atof(argv[6]), std::atof(argv[7]), std::atof(argv[8]) };
  const unsigned shrink = static_cast<unsigned>(std::atoi(argv[9]));
  std::vector<unsigned> iterations;
  {
    std::stringstream ss(argv[10]);
    std::string item;
    while (std::getline(ss, item, 'x')) iterations.push_back(static_cast<unsigned>(std::atoi(item.c_str())));
  }
  const double threshold = std::atof(argv[11]);
  const unsigned controlPoints = static_cast<unsigned>(std::atoi(argv[12]));
  const char * outPath = argv[13];
  if (argc > 14) itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(std::atoi(argv[14]));

  const size_t n = dims[0] * dims[1] * dims[2];
  auto imgBuf = readRaw<float>(argv[1], n);
  auto maskBuf = readRaw<unsigned char>(argv[2], n);
  ImageType::Pointer image = makeImage<ImageType>(imgBuf, dims, sp);
  MaskType::Pointer mask = makeImage<MaskType>(maskBuf, dims, sp);

  const auto t0 = std::chrono::steady_clock::now();
  using ShrinkerType = itk::ShrinkImageFilter<ImageType, ImageType>;
  auto shrinker = ShrinkerType::New();
  shrinker->SetInput(image);
  shrinker->SetShrinkFactors(shrink);
  using MaskShrinkerType = itk::ShrinkImageFilter<MaskType, MaskType>;
  auto maskShrinker = MaskShrinkerType::New();
  maskShrinker->SetInput(mask);
  maskShrinker->SetShrinkFactors(shrink);
  shrinker->Update();
  maskShrinker->Update();
  const auto t1 = std::chrono::steady_clock::now();

  using CorrecterType = itk::N4BiasFieldCorrectionImageFilter<ImageType, MaskType, ImageType>;
  auto correcter = CorrecterType::New();
  correcter->SetInput(shrinker->GetOutput());
  correcter->SetMaskImage(maskShrinker->GetOutput());
  correcter->SetMaskLabel(1);
  CorrecterType::VariableSizeArrayType maxIters(static_cast<unsigned>(iterations.size()));
  for (unsigned i = 0; i < iterations.size(); ++i) maxIters[i] = iterations[i];
  correcter->SetMaximumNumberOfIterations(maxIters);
  correcter->SetNumberOfFittingLevels(static_cast<unsigned>(iterations.size()));
  correcter->SetConvergenceThreshold(threshold);
  CorrecterType::ArrayType cps;
  cps.Fill(controlPoints);
  correcter->SetNumberOfControlPoints(cps);
  correcter->SetSplineOrder(3);
  correcter->SetNumberOfHistogramBins(200);
  correcter->SetBiasFieldFullWidthAtHalfMaximum(0.15);
  correcter->SetWienerFilterNoise(0.01);
  // Iterations run and last convergence measure per fitting level (reported with the timings).
  std::vector<unsigned> levelIterations(iterations.size(), 0);
  std::vector<double> levelConvergence(iterations.size(), -1.0);
  auto observer = itk::CStyleCommand::New();
  struct Tally { CorrecterType * filter; std::vector<unsigned> * its; std::vector<double> * conv; } tally{ correcter.GetPointer(), &levelIterations, &levelConvergence };
  observer->SetClientData(&tally);
  observer->SetCallback([](itk::Object *, const itk::EventObject &, void * data) {
    auto * t = static_cast<Tally *>(data);
    const unsigned level = t->filter->GetCurrentLevel();
    if (level < t->its->size())
    {
      (*t->its)[level] = t->filter->GetElapsedIterations();
      (*t->conv)[level] = t->filter->GetCurrentConvergenceMeasurement();
    }
  });
  correcter->AddObserver(itk::IterationEvent(), observer);
  correcter->Update();
  const auto t2 = std::chrono::steady_clock::now();

  // Full-resolution log field from the lattice (ANTs' N4BiasFieldCorrection does the same).
  using ScalarImageType = itk::Image<itk::Vector<float, 1>, 3>;
  using BSplinerType = itk::BSplineControlPointImageFilter<CorrecterType::BiasFieldControlPointLatticeType, ScalarImageType>;
  auto bspliner = BSplinerType::New();
  bspliner->SetInput(correcter->GetLogBiasFieldControlPointLattice());
  bspliner->SetSplineOrder(correcter->GetSplineOrder());
  bspliner->SetSize(image->GetLargestPossibleRegion().GetSize());
  bspliner->SetOrigin(image->GetOrigin());
  bspliner->SetDirection(image->GetDirection());
  bspliner->SetSpacing(image->GetSpacing());
  bspliner->Update();
  std::vector<float> logField(n);
  {
    const auto * p = bspliner->GetOutput()->GetBufferPointer();
    for (size_t i = 0; i < n; ++i) logField[i] = p[i][0];
  }
  // Corrected image as ANTs writes it: input / exp(log field).
  std::vector<float> corrected(n);
  for (size_t i = 0; i < n; ++i) corrected[i] = imgBuf[i] / std::exp(logField[i]);
  const auto t3 = std::chrono::steady_clock::now();

  std::ofstream out(outPath, std::ios::binary);
  out.write(reinterpret_cast<const char *>(logField.data()), static_cast<std::streamsize>(n * sizeof(float)));

  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::printf("{\"shrinkMs\": %.1f, \"n4Ms\": %.1f, \"reconstructMs\": %.1f, \"totalMs\": %.1f, "
              "\"threads\": %u, \"shrunk\": [%lu, %lu, %lu], \"iterations\": [",
              ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t0, t3), itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads(),
              static_cast<unsigned long>(shrinker->GetOutput()->GetLargestPossibleRegion().GetSize()[0]),
              static_cast<unsigned long>(shrinker->GetOutput()->GetLargestPossibleRegion().GetSize()[1]),
              static_cast<unsigned long>(shrinker->GetOutput()->GetLargestPossibleRegion().GetSize()[2]));
  for (size_t l = 0; l < levelIterations.size(); ++l) std::printf("%s%u", l ? ", " : "", levelIterations[l]);
  std::printf("], \"convergence\": [");
  for (size_t l = 0; l < levelConvergence.size(); ++l) std::printf("%s%.6g", l ? ", " : "", levelConvergence[l]);
  std::printf("]}\n");
  return 0;
}
